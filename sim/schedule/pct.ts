import type { Chooser } from './chooser.ts';
import type { SimThread } from '../thread.ts';
import { prng } from './random.ts';

/**
 * `--depth auto`, as a StrategySpec depth: no fixed depth, each seed runs at the depth
 * AUTO_DEPTHS[seed mod 4] (pctDepth). A race's depth is unknown before it is found, and on the
 * catalog no single depth is best (bench "PCT auto"): depth 2 misses eleven of the sixteen races,
 * depth 3 is the slowest of 3–6 on the deeper windows (cow-two-pages ~1/830 seeds at d3 against
 * ~1/150 at d5–d6), depths above 6 add nothing. Cycling by seed, not hashing, puts every depth in
 * every four consecutive seeds, so a small budget or one farm job is never short of one.
 */
export const PCT_AUTO_DEPTH = 0;
export const AUTO_DEPTHS: readonly number[] = [3, 4, 5, 6];

/** The depth seed `seed` runs at: `depth` itself, or under auto its turn in AUTO_DEPTHS. */
export function pctDepth(depth: number, seed: number): number {
  return depth === PCT_AUTO_DEPTH ? AUTO_DEPTHS[seed % AUTO_DEPTHS.length] : depth;
}

/** How a depth reads in messages: `3`, or `auto` (3–6 by seed). */
export function depthText(depth: number): string {
  return depth === PCT_AUTO_DEPTH ? `auto (${AUTO_DEPTHS[0]}–${AUTO_DEPTHS[AUTO_DEPTHS.length - 1]} by seed)` : String(depth);
}

/**
 * Probabilistic Concurrency Testing (Burckhardt, Kothari, Musuvathi, Nagarakatte, ASPLOS 2010):
 * n threads get distinct random priorities d..d+n-1; d-1 change points are drawn uniformly from
 * the k steps; the highest-priority enabled thread always runs, and at change point i the running
 * thread drops to priority d-i. A bug of depth d is found with probability ≥ 1/(n·k^(d-1)) per run.
 */
export class PctChooser implements Chooser {
  private readonly priority: Float64Array;
  private readonly changeAt: Int32Array;
  private next = 0;
  private readonly depth: number;

  constructor(seed: number, threads: number, depth: number, kSteps: number) {
    const rng = prng(`pct:${depth}:${seed}`);
    this.depth = depth;
    // A random permutation of d..d+n-1 (Fisher–Yates).
    const prios = Array.from({ length: threads }, (_, i) => depth + i);
    for (let i = prios.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [prios[i], prios[j]] = [prios[j], prios[i]];
    }
    this.priority = Float64Array.from(prios);
    const points: number[] = [];
    const k = Math.max(1, kSteps);
    for (let i = 0; i < depth - 1; i++) points.push(Math.floor(rng() * k));
    points.sort((a, b) => a - b);
    this.changeAt = Int32Array.from(points);
  }

  pick(enabled: readonly SimThread[], count: number, step: number): SimThread {
    let best = this.highest(enabled, count);
    while (this.next < this.changeAt.length && this.changeAt[this.next] <= step) {
      // Change point i (1-based): the thread about to run drops below every initial priority.
      this.next++;
      this.priority[best.id] = this.depth - this.next;
      best = this.highest(enabled, count);
    }
    return best;
  }

  private highest(enabled: readonly SimThread[], count: number): SimThread {
    let best = enabled[0];
    for (let i = 1; i < count; i++) if (this.priority[enabled[i].id] > this.priority[best.id]) best = enabled[i];
    return best;
  }
}
