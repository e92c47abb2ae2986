import type { Chooser } from './chooser.ts';
import type { SimThread } from '../thread.ts';
import { prng } from './random.ts';

/**
 * The `coverage` strategy: schedules that reached new coverage features are kept
 * in a corpus; each new schedule mutates one of them — flip one decision, move one preemption, or
 * splice two schedules — and follows the result, choosing at random where the plan says nothing
 * or names a thread that is not enabled. Deterministic from the seed and the corpus contents.
 */

/** A schedule kept because it reached new features. */
export interface CorpusEntry {
  /** Thread id chosen at each decision point. */
  readonly decisions: readonly number[];
  /** The no-preemption default at each decision point (the thread that ran last, else the lowest id). */
  readonly defaults: readonly number[];
  /** Features it reached first. */
  readonly gain: number;
}

/** The corpus of a campaign (or of one batch): entries in the order they were found. */
export interface Corpus {
  readonly entries: CorpusEntry[];
  /** Bound on the entries kept; the oldest low-gain ones go first. */
  readonly limit: number;
}

export function emptyCorpus(limit = 4096): Corpus {
  return { entries: [], limit };
}

/** Adds an entry, evicting deterministically when full. */
export function addToCorpus(c: Corpus, e: CorpusEntry): void {
  c.entries.push(e);
  if (c.entries.length > c.limit) {
    // Drop the oldest entry with the smallest gain.
    let worst = 0;
    for (let i = 1; i < c.entries.length; i++) if (c.entries[i].gain < c.entries[worst].gain) worst = i;
    c.entries.splice(worst, 1);
  }
}

export type MutationKind = 'random' | 'flip' | 'move' | 'splice';

/** What a CoverageChooser does: follow `plan` (-1 = choose at random), and at `flipAt` avoid `avoid`. */
export interface Plan {
  readonly kind: MutationKind;
  readonly plan: readonly number[];
  readonly flipAt: number;
  readonly avoid: number;
}

/** Share of schedules that ignore the corpus and run purely at random (keeps exploring). */
const FRESH = 0.15;
/** A moved preemption lands up to this many decision points away. */
const MOVE_SPAN = 4;

/**
 * Draws the plan of seed `seed` from the corpus. The corpus is read, not changed. Pure: the same
 * seed and corpus entries give the same plan.
 */
export function planFor(rng: () => number, corpus: Corpus): Plan {
  const es = corpus.entries;
  if (es.length === 0 || rng() < FRESH) return { kind: 'random', plan: [], flipAt: -1, avoid: -1 };
  const a = pick(rng, es);
  const r = rng();
  if (r < 0.45 || a.decisions.length === 0) {
    // Flip: follow a up to i, choose another thread at i, then follow a's later decisions where they apply.
    if (a.decisions.length === 0) return { kind: 'random', plan: [], flipAt: -1, avoid: -1 };
    const i = Math.floor(rng() * a.decisions.length);
    return { kind: 'flip', plan: a.decisions, flipAt: i, avoid: a.decisions[i] };
  }
  if (r < 0.8) {
    // Move a preemption: undo it where it was, make the same thread preempt a few points earlier or later.
    const pre: number[] = [];
    for (let i = 0; i < a.decisions.length; i++) if (a.decisions[i] !== a.defaults[i]) pre.push(i);
    if (pre.length === 0) {
      const i = Math.floor(rng() * a.decisions.length);
      return { kind: 'flip', plan: a.decisions, flipAt: i, avoid: a.decisions[i] };
    }
    const i = pre[Math.floor(rng() * pre.length)];
    let d = 1 + Math.floor(rng() * MOVE_SPAN);
    if (rng() < 0.5) d = -d;
    const j = Math.min(a.decisions.length - 1, Math.max(0, i + d));
    const plan = a.decisions.slice();
    plan[i] = a.defaults[i];
    plan[j] = a.decisions[i];
    return { kind: 'move', plan, flipAt: -1, avoid: -1 };
  }
  // Splice: a's decisions up to i, then b's from j on.
  const b = pick(rng, es);
  const i = Math.floor(rng() * (a.decisions.length + 1));
  const j = Math.floor(rng() * (b.decisions.length + 1));
  return { kind: 'splice', plan: [...a.decisions.slice(0, i), ...b.decisions.slice(j)], flipAt: -1, avoid: -1 };
}

/** Recent entries are favoured: half the picks come from the newest 64. */
function pick(rng: () => number, es: readonly CorpusEntry[]): CorpusEntry {
  if (es.length > 64 && rng() < 0.5) return es[es.length - 64 + Math.floor(rng() * 64)];
  return es[Math.floor(rng() * es.length)];
}

/**
 * Follows a plan. At decision point k it runs plan[k] if that thread is enabled (at the flip point:
 * any enabled thread but the one to avoid), otherwise one at random; past the plan, at random. It
 * records the defaults of the points it decided, so its run can join the corpus.
 */
export class CoverageChooser implements Chooser {
  readonly defaults: number[] = [];
  readonly kind: MutationKind;
  private readonly rng: () => number;
  private readonly plan: readonly number[];
  private readonly flipAt: number;
  private readonly avoid: number;
  private k = 0;
  private last = -1;

  constructor(seed: number, corpus: Corpus) {
    this.rng = prng(`coverage:${seed}`);
    const p = planFor(this.rng, corpus);
    this.kind = p.kind;
    this.plan = p.plan;
    this.flipAt = p.flipAt;
    this.avoid = p.avoid;
  }

  pick(enabled: readonly SimThread[], count: number): SimThread {
    let chosen: SimThread | undefined;
    if (count > 1) {
      let def = enabled[0].id;
      for (let i = 0; i < count; i++) if (enabled[i].id === this.last) def = this.last;
      this.defaults.push(def);
      const k = this.k++;
      if (k === this.flipAt) {
        const r = Math.floor(this.rng() * (count - 1));
        let n = 0;
        for (let i = 0; i < count && chosen === undefined; i++) {
          if (enabled[i].id === this.avoid) continue;
          if (n++ === r) chosen = enabled[i];
        }
      } else if (k < this.plan.length) {
        const want = this.plan[k];
        for (let i = 0; i < count; i++) if (enabled[i].id === want) chosen = enabled[i];
      }
      chosen ??= enabled[Math.floor(this.rng() * count)];
    }
    chosen ??= enabled[0];
    this.last = chosen.id;
    return chosen;
  }
}
