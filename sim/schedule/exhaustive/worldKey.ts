import type { World } from '../../world.ts';

/**
 * An exact, collision-free encoding of a World's state between two steps, for the stateful
 * exhaustive search: two Worlds with equal keys behave the same in every future step and reach the
 * same oracle verdicts. The key is a string used as a Map key, so lookup hashes it and a hit
 * compares it in full — no hash collision can merge two different states.
 *
 * What it contains:
 * - every typed array of the World, as raw bytes: WorldSnapshot (sim/worldSnapshot.ts, which
 *   every Simulator World has) moved them all into one ArrayBuffer, so that is one buffer;
 * - every other own property reachable from the World (numbers, booleans, strings, arrays, Maps,
 *   Sets, objects created during the run such as PRI page requests), walked generically in a fixed
 *   order, with objects numbered by first visit so that sharing (the same PageRequest in the fault
 *   queue and in a device thread's gate) is part of the key.
 *
 * What it leaves out, and why that keeps it exact for verdicts: the inputs (scenario, sites), and
 * the fields that only ever feed the text of a violation's message or participants, never a branch
 * of the model or an oracle's decision to fire (checked by reading every use in sim/world.ts and
 * sim/oracles/oracles.ts): the per-page labels of who changed, unmapped, write-protected or
 * write-enabled a page, the oracles' per-cell "written through what" labels, the messages already
 * reported (the set of oracles that fired — what the verdict is made of — is in the key), the
 * trace effects, and the step-local scratch (current thread, pages touched in this step).
 */
const SKIP = new Set([
  'scenario',
  'sites',
  'lastChange',
  'lastChangeBy',
  'unmappedBy',
  'wrprotectedBy',
  'writeEnabledBy',
  'effects',
  'current',
  'touchedList',
  'missedVia',
  'writeVia',
  'splitFirst',
  'violations',
]);

/**
 * Typed arrays that only feed messages (like the SKIP fields): what each PTE mapped when last
 * looked at (World.observePte, for the "unmapped by" labels), where each cell's last write went
 * (Oracles.writeFrame/writeGen, for participants), and the step-local touched flags.
 */
const SKIP_ARRAYS = new Set(['seenFrame', 'seenGen', 'seenWrite', 'writeFrame', 'writeGen', 'touchedFlag']);

export class WorldKey {
  private readonly arena: Uint16Array;
  /** Half-open uint16 ranges of the arena that are part of the key. */
  private readonly ranges: number[] = [];
  private readonly encodeRest: (dyn: (v: unknown) => string) => string;

  constructor(w: World) {
    const buf = w.pt.kind.buffer;
    if (buf.byteLength % 2 !== 0) throw new Error('WorldKey: odd arena size');
    this.arena = new Uint16Array(buf as ArrayBuffer);
    // Walk the World once: typed arrays must live in the one arena (a Simulator's World does);
    // the scalar fields of its objects are read by straight-line code (one monomorphic load per
    // field, as in WorldSnapshot's restore); arrays of scalars, Maps, Sets and fields empty at
    // construction are encoded generically on every call. The World's own objects are held in
    // readonly fields (their classes declare them so), so the walk's shape stays valid.
    const seen = new Map<object, number>();
    const objs: object[] = [];
    const lines: string[] = [];
    const skipped: [number, number][] = [];
    const visit = (o: object): number => {
      let id = seen.get(o);
      if (id !== undefined) return id;
      id = objs.length;
      seen.set(o, id);
      objs.push(o);
      const entries: [string, unknown][] = Array.isArray(o) ? o.map((v, i) => [String(i), v]) : Object.entries(o);
      for (const [k, v] of entries) {
        if (SKIP.has(k)) continue;
        const at = Array.isArray(o) ? `o[${id}][${k}]` : `o[${id}]${/^[A-Za-z_$][\w$]*$/.test(k) ? '.' + k : '[' + JSON.stringify(k) + ']'}`;
        if (ArrayBuffer.isView(v)) {
          if (v.buffer !== buf) throw new Error(`WorldKey: typed array ${k} outside the snapshot arena (build the World through a Simulator)`);
          if (SKIP_ARRAYS.has(k)) skipped.push([v.byteOffset >> 1, (v.byteOffset + v.byteLength + 1) >> 1]);
        } else if (typeof v === 'function') {
          continue;
        } else if (typeof v !== 'object' || v === null || v instanceof Map || v instanceof Set || (Array.isArray(v) && (v.length === 0 || !v.every((x) => typeof x === 'object' && x !== null && !ArrayBuffer.isView(x))))) {
          // A scalar, or something whose shape changes during a run: encode it as it is.
          lines.push(`s += d(${at}) + ';';`);
        } else {
          lines.push(`s += '@${visit(v)};';`);
        }
      }
      return id;
    };
    visit(w);
    // Arena ranges minus the skipped arrays.
    skipped.sort((a, b) => a[0] - b[0]);
    let from = 0;
    for (const [a, b] of skipped) {
      if (a > from) this.ranges.push(from, a);
      from = Math.max(from, b);
    }
    if (from < this.arena.length) this.ranges.push(from, this.arena.length);
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const f = new Function('o', 'd', `'use strict'; let s = '';\n${lines.join('\n')}\nreturn s;`) as (o: object[], d: (v: unknown) => string) => string;
    this.encodeRest = (d) => f(objs, d);
  }

  /** The key of the World's current state. */
  key(): string {
    let s = '';
    const a = this.arena;
    const r = this.ranges;
    for (let i = 0; i < r.length; i += 2) {
      // Chunked: fromCharCode.apply over a very long array can exceed the argument limit.
      for (let j = r[i]; j < r[i + 1]; j += 4096) s += String.fromCharCode.apply(null, a.subarray(j, Math.min(r[i + 1], j + 4096)) as unknown as number[]);
    }
    const ids = new Map<object, number>();
    return s + '\u0000' + this.encodeRest((v) => encode(v, ids));
  }
}

/** A generic, deterministic encoding of everything reachable from `v` except typed arrays and SKIP fields. */
function encode(v: unknown, ids: Map<object, number>): string {
  switch (typeof v) {
    case 'number':
      return `${v}`;
    case 'boolean':
      return v ? 'T' : 'F';
    case 'string':
      return JSON.stringify(v);
    case 'undefined':
      return 'U';
    case 'function':
      return 'f';
    case 'bigint':
      return `${v}n`;
    case 'symbol':
      return 's';
  }
  if (v === null) return 'N';
  const o = v as object;
  if (ArrayBuffer.isView(o)) return 'A';
  const id = ids.get(o);
  if (id !== undefined) return `@${id}`;
  ids.set(o, ids.size);
  if (Array.isArray(o)) {
    let s = '[';
    for (let i = 0; i < o.length; i++) s += encode(o[i], ids) + ',';
    return s + ']';
  }
  if (o instanceof Map) {
    let s = 'M{';
    for (const [k, x] of o) s += encode(k, ids) + ':' + encode(x, ids) + ',';
    return s + '}';
  }
  if (o instanceof Set) {
    // A set of names (the oracles that fired) is the same set whatever order it was filled in.
    const items: string[] = [];
    for (const x of o) items.push(encode(x, ids));
    if ([...o].every((x) => typeof x !== 'object' || x === null)) items.sort();
    return 'S{' + items.join(',') + '}';
  }
  let s = '{';
  const rec = o as Record<string, unknown>;
  for (const k in rec) {
    if (!Object.hasOwn(rec, k)) continue;
    if (SKIP.has(k)) continue;
    s += encode(rec[k], ids) + ';';
  }
  return s + '}';
}
