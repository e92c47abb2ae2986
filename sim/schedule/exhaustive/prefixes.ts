import { Simulator } from '../../run.ts';
import type { CompiledScenario } from '../../scenario/compiled.ts';
import type { Sites } from '../../variants/sites.ts';
import type { Chooser } from '../chooser.ts';
import type { SimThread } from '../../thread.ts';

/** One subtree of the exhaustive search: the schedules whose decisions start with `decisions`. */
export interface DecisionPrefix {
  readonly decisions: readonly number[];
  /**
   * The schedule ends (every thread done, deadlock or step budget) after fewer than `depth`
   * decisions: the prefix is that whole schedule, its subtree has exactly one schedule.
   */
  readonly leaf: boolean;
}

export interface PrefixOptions {
  /** Preemption bound K (Infinity: unbounded), as ExhaustiveOptions.bound. */
  readonly bound: number;
  /** Decisions per prefix (0: one empty prefix, the whole search). */
  readonly depth: number;
}

/**
 * Follows `prefix`, then stops at the next point with two or more enabled threads and reports
 * which threads could run there and how many preemptions the prefix spent.
 */
class PrefixProbe implements Chooser {
  private depth = 0;
  private last = -1;
  preemptions = 0;
  /** Enabled thread ids at the point after the prefix, null if the run ended first. */
  next: number[] | null = null;
  /** Thread that ran last before that point. */
  lastBefore = -1;

  constructor(private readonly prefix: readonly number[]) {}

  pick(enabled: readonly SimThread[], count: number): SimThread | null {
    if (count === 1) {
      this.last = enabled[0].id;
      return enabled[0];
    }
    const ids: number[] = [];
    for (let i = 0; i < count; i++) ids.push(enabled[i].id);
    if (this.depth === this.prefix.length) {
      this.next = ids;
      this.lastBefore = this.last;
      return null;
    }
    const c = this.prefix[this.depth++];
    const t = enabled.slice(0, count).find((x) => x.id === c);
    if (t === undefined) throw new Error(`prefix: decision ${c} names no enabled thread (enabled: ${ids.join(', ')})`);
    if (c !== this.last && ids.includes(this.last)) this.preemptions++;
    this.last = c;
    return t;
  }
}

/**
 * The decision prefixes of length `depth` of the search within the preemption bound, in the
 * search's order (the default continuation first, then ascending thread ids), plus the shorter
 * schedules that end before `depth` decisions (leaf). Their subtrees partition the bounded
 * search exactly: `exhaustive(…, {prefix})` over every prefix covers every schedule once (plain
 * DFS), so per-prefix schedule counts add up to the unsplit search's. With the reduction or the
 * stateful search each job prunes only within its own subtree, so the sum of counts is at least
 * the unsplit count, and the union of verdicts is the same.
 * Cost: one execution per prefix of every length below `depth`.
 */
export function exhaustivePrefixes(sc: CompiledScenario, sites: Sites, opts: PrefixOptions): DecisionPrefix[] {
  if (!Number.isInteger(opts.depth) || opts.depth < 0) throw new Error(`prefix depth must be a non-negative integer, got ${opts.depth}`);
  const sim = new Simulator(sc, sites);
  const out: DecisionPrefix[] = [];
  const expand = (prefix: number[]): void => {
    if (prefix.length === opts.depth) {
      out.push({ decisions: prefix, leaf: false });
      return;
    }
    const probe = new PrefixProbe(prefix);
    sim.run(probe);
    if (probe.next === null) {
      out.push({ decisions: prefix, leaf: true });
      return;
    }
    const last = probe.lastBefore;
    const order = probe.next.includes(last) ? [last, ...probe.next.filter((c) => c !== last)] : probe.next;
    for (const c of order) {
      const preempts = c !== last && probe.next.includes(last);
      if (preempts && probe.preemptions >= opts.bound) continue;
      expand([...prefix, c]);
    }
  };
  expand([]);
  return out;
}
