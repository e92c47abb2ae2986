import type { World } from '../../world.ts';

/**
 * What a thread's step read from the World, value by value: the "history of values it observed"
 * that keys a generator's program state in the stateful search (threadKey.ts).
 *
 * Why it fixes the program state exactly: a step is deterministic code (no randomness, clock or
 * I/O in sim/); started from the same generator state, two executions that read the same sequence
 * of values take the same branches, compute the same locals and stop at the same yield. So the
 * state after n steps is a function of the initial state (the same in every run) and the n read
 * sequences. Reads that never flow into the thread (oracle bookkeeping called during a step) are
 * recorded too: more than needed can only split states, never merge two different ones.
 *
 * How: the World's mutable state is reached through recording Proxies while a step runs —
 * every typed array (indexed reads record (array, index, value); any method call records the whole
 * array, since a subarray it returns is read unrecorded), and every object with scalar fields
 * (locks, mmap_sem, KVM's seq/count, the PRI queue, …: a field read records (object, field,
 * value), an array/Map/object value deep-encoded). The Proxies are installed before the threads
 * are created (so generator locals that cache `w.frames`, `w.kvm`, a lock, hold the recording
 * view) and stay installed; between steps the typed-array fields of the World's objects are
 * switched back to the raw arrays, so the oracles and gates run at full speed, and switched to
 * the Proxies again right before the next step (a reference a step caches is then a Proxy).
 */
/**
 * Typed arrays that only feed message text or per-step scratch (the World key leaves them out for
 * the same reason, worldKey.ts SKIP_ARRAYS): World.observePte and the oracles read them during a
 * step, but nothing read from them flows into a thread, so they are not recorded.
 */
const MESSAGE_ONLY = new Set(['seenFrame', 'seenGen', 'seenWrite', 'writeFrame', 'writeGen', 'touchedFlag']);

export class StepObservations {
  recording = false;
  /** Replayed steps run through the recording views too (the slower way, kept to check the fast one). */
  constructor(private readonly replayViews = false) {}
  /** The reads of the current step, flattened. */
  private seq: (number | string)[] = [];
  private readonly arrayProxies = new Map<object, object>();
  private readonly objectProxies = new Map<object, object>();
  /** Typed-array fields: holder, key, raw array, recording view. */
  private readonly holders: Record<string, unknown>[] = [];
  private readonly keys: string[] = [];
  private readonly raws: unknown[] = [];
  private readonly views: unknown[] = [];
  /** Object-reference fields to re-point at the recording views after each World reset. */
  private readonly refHolders: Record<string | number, unknown>[] = [];
  private readonly refKeys: (string | number)[] = [];
  private readonly refViews: unknown[] = [];
  private built = false;
  /** The World's own objects (found at install): a read of one is followed through its own view, not encoded. */
  private readonly graph = new Set<object>();

  /** Points the World at the recording views. Call from StepObserver.init (after every reset). */
  install(w: World): void {
    if (!this.built) {
      this.build(w);
      this.built = true;
    }
    for (let i = 0; i < this.refHolders.length; i++) this.refHolders[i][this.refKeys[i]] = this.refViews[i];
    // A run that ended inside a step (a SimLimit) left recording on.
    this.recording = false;
    this.seq.length = 0;
    this.viewsIn();
  }

  /**
   * The step starts: record its reads. The thread's gate goes first: a PRI page request the thread
   * created and waits on is not part of the World's object graph, and the fault worker's answer
   * in it (done, failed) is read through the thread's own reference.
   */
  begin(gate: unknown): void {
    this.viewsIn();
    this.seq.length = 0;
    if (typeof gate === 'object' && gate !== null) this.seq.push('g', this.deep(gate));
    this.recording = true;
  }

  /**
   * A replayed step: nothing recorded, and it runs on the raw arrays — the views are in only for a
   * step whose reads are recorded (begin). Sound because no thread keeps a typed array across a
   * yield: a step reads every typed array through the World object that holds it (`w.pt.frame[p]`,
   * `frames.refcount[f]`, never a local `const cache = w.backing.swapCache` read after a yield),
   * so a later recorded step's reads go through the views whatever ran before. `replayViews`
   * (the search's self-check) replays through the views instead; both give the same search.
   */
  enter(): void {
    if (this.replayViews) this.viewsIn();
  }

  /** A replayed step is over. */
  leave(): void {
    if (this.replayViews) this.viewsOut();
  }

  /** The step is over: its reads, encoded. */
  end(): string {
    this.recording = false;
    this.viewsOut();
    return this.seq.join(',');
  }

  /** Between steps, oracles and gates read the raw arrays. */
  pause(): void {
    this.viewsOut();
  }

  deep(v: unknown): string {
    return deepEncode(v, this.graph, this.objectProxies, new Set());
  }

  private viewsIn(): void {
    for (let i = 0; i < this.holders.length; i++) this.holders[i][this.keys[i]] = this.views[i];
  }

  private viewsOut(): void {
    for (let i = 0; i < this.holders.length; i++) this.holders[i][this.keys[i]] = this.raws[i];
  }

  private build(w: World): void {
    const seen = this.graph;
    const skip = new Set(['scenario', 'sites', 'effects', 'current', 'touchedList', 'lastChange', 'lastChangeBy', 'unmappedBy', 'wrprotectedBy', 'writeEnabledBy', 'missedVia', 'writeVia', 'violations']);
    const visit = (o: object): void => {
      if (seen.has(o)) return;
      seen.add(o);
      const entries: [string | number, unknown][] = Array.isArray(o) ? o.map((v, i) => [i, v]) : Object.entries(o);
      for (const [k, v] of entries) {
        if (typeof k === 'string' && skip.has(k)) continue;
        if (ArrayBuffer.isView(v) && typeof k === 'string' && MESSAGE_ONLY.has(k)) {
          continue;
        } else if (ArrayBuffer.isView(v)) {
          if (Array.isArray(o)) throw new Error('StepObservations: a typed array in an array');
          this.holders.push(o as Record<string, unknown>);
          this.keys.push(k as string);
          this.raws.push(v);
          this.views.push(this.arrayView(v as unknown as ArrayLike<number>));
        } else if (typeof v === 'object' && v !== null && !(v instanceof Map) && !(v instanceof Set)) {
          visit(v);
          if (!Array.isArray(v) && v !== w && hasScalars(v)) {
            this.refHolders.push(o as Record<string | number, unknown>);
            this.refKeys.push(k);
            this.refViews.push(this.objectView(v, v === w.oracles));
          }
        }
      }
    };
    visit(w);
  }

  private arrayView(arr: ArrayLike<number>): object {
    const id = this.arrayProxies.size;
    const rec = this;
    const p = new Proxy(arr as unknown as Record<string | symbol, unknown>, {
      get(target, key) {
        if (typeof key === 'string') {
          const c = key.charCodeAt(0);
          if (c >= 48 && c <= 57) {
            const v = (target as unknown as number[])[key as unknown as number];
            if (rec.recording) rec.seq.push(id, key, v);
            return v;
          }
          if (key === 'length') return (target as unknown as number[]).length;
        }
        const v = Reflect.get(target, key, target);
        if (typeof v === 'function') {
          return (...args: unknown[]) => {
            if (rec.recording) rec.seq.push(id, '*', Array.prototype.join.call(target, ' '));
            return (v as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return v;
      },
    });
    this.arrayProxies.set(arr, p);
    this.graph.add(p);
    return p;
  }

  /**
   * `opaque`: the oracles. Every method of theirs a kernel step calls returns nothing and writes
   * only oracle state (sim/oracles/oracles.ts), so what they read cannot flow into the thread:
   * their reads are not recorded (they would split states that differ only in when an oracle
   * looked), and their state is in the World key anyway.
   */
  private objectView(o: object, opaque = false): object {
    const have = this.objectProxies.get(o);
    if (have !== undefined) return have;
    const id = this.objectProxies.size;
    const rec = this;
    const p = new Proxy(o as Record<string | symbol, unknown>, {
      get(target, key, receiver) {
        const v = Reflect.get(target, key, receiver);
        // Not recording (a replayed step, or between steps): nothing to record or to hide.
        if (!rec.recording) return v;
        if (opaque && typeof v === 'function') {
          return (...args: unknown[]) => {
            const was = rec.recording;
            rec.recording = false;
            try {
              return (v as (...a: unknown[]) => unknown).apply(receiver, args);
            } finally {
              rec.recording = was;
            }
          };
        }
        if (typeof key === 'string' && Object.hasOwn(target, key)) {
          if (typeof v !== 'object' || v === null) rec.seq.push(`o${id}`, key, typeof v === 'string' ? JSON.stringify(v) : `${v as number}`);
          else if (Array.isArray(v) || !rec.graph.has(v)) rec.seq.push(`o${id}`, key, rec.deep(v));
        }
        return v;
      },
    });
    this.objectProxies.set(o, p);
    this.graph.add(p);
    return p;
  }
}

function hasScalars(o: object): boolean {
  for (const v of Object.values(o)) {
    if (typeof v !== 'object' || v === null) {
      if (typeof v !== 'function') return true;
    } else if (Array.isArray(v) || v instanceof Map || v instanceof Set) {
      return true;
    }
  }
  return false;
}

/**
 * A deterministic deep encoding of a value read that is not one of the World's own objects (the
 * PRI queue's array of page requests, a request itself). The World's own objects inside it are
 * named by their place in the install walk: their fields are recorded when read, through their views.
 */
function deepEncode(v: unknown, graph: ReadonlySet<object>, ids: ReadonlyMap<object, object>, seen: Set<object>): string {
  if (typeof v !== 'object' || v === null) return typeof v === 'function' ? 'f' : (JSON.stringify(v) ?? 'U');
  if (ArrayBuffer.isView(v)) return 'A';
  if (!Array.isArray(v) && graph.has(v)) return '#';
  if (ids.has(v)) return '#';
  if (seen.has(v)) return '@';
  seen.add(v);
  if (Array.isArray(v)) return `[${v.map((x) => deepEncode(x, graph, ids, seen)).join(',')}]`;
  if (v instanceof Map) return `M[${[...v].map(([a, b]) => deepEncode(a, graph, ids, seen) + ':' + deepEncode(b, graph, ids, seen)).join(',')}]`;
  if (v instanceof Set) return `S[${[...v].map((x) => deepEncode(x, graph, ids, seen)).join(',')}]`;
  return `{${Object.entries(v).map(([k, x]) => k + '=' + deepEncode(x, graph, ids, seen)).join(',')}}`;
}
