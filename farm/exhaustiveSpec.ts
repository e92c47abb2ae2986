import type { OracleName } from '../sim/oracles/violation.ts';
import type { PrefixJob } from './jobs.ts';

/**
 * An exhaustive campaign (`campaign start --strategy exhaustive`): the search up to `bound`
 * preemptions, split by decision prefixes into one job per prefix (sim/schedule/exhaustive.ts
 * exhaustivePrefixes: the prefixes partition the search, in its depth-first order). A prefix job is
 * the campaign's "range" [index, index + 1): the farm's range machinery — the recorded-range guard,
 * failed ranges, retry, cancel — applies to prefix jobs unchanged, so each counts once.
 */
export interface ExhaustiveSpec {
  /** Preemption bound K. */
  readonly bound: number;
  /** Sleep-set partial-order reduction (always on from the API; the job carries it for clarity). */
  readonly reduction: boolean;
  /**
   * The execution budget of the whole search, as the local search's --max-schedules: the
   * certificate is complete only if the unsplit search would have finished within it. Each prefix
   * job gets it as its own cap (a subtree over it puts the whole search over it).
   */
  readonly maxSchedules: number;
  /** Prefix jobs asked for (the split deepens until it has at least this many, or the tree ends). */
  readonly split: number;
  /** The search stops at a schedule on which one of these fires (null: any race oracle). */
  readonly target: readonly OracleName[] | null;
  /** The decision prefixes, in the search's order: job i searches the subtree under prefixes[i]. */
  readonly prefixes: readonly (readonly number[])[];
}

/** What one prefix job adds to a FuzzResult (the counts are its own subtree's). */
export interface PrefixOutcome {
  /** The job's subtree was searched to the end within maxSchedules, without stopping at a race. */
  readonly complete: boolean;
  readonly schedules: number;
  readonly pruned: number;
  /** Distinct verdicts seen: the sorted oracle names of a schedule, "" for a clean one. */
  readonly verdicts: readonly string[];
  /** The search stopped at a race: its signature (the first target oracle of that schedule) and the execution it was. */
  readonly hit: { readonly signature: string; readonly oracle: string; readonly execution: number } | null;
  /** The search's split is exact (an unsplit search explores the same schedules in the same order). */
  readonly exact: boolean;
}

export const EXHAUSTIVE_DEFAULTS = { bound: 2, maxSchedules: 1_000_000, split: 64 };
export const EXHAUSTIVE_LIMITS = { bound: 20, maxSchedules: 1e12, split: 100_000 };

/** The search of prefix job `index`. */
export function prefixJob(x: ExhaustiveSpec, index: number): PrefixJob {
  return { bound: x.bound, reduction: x.reduction, maxSchedules: x.maxSchedules, target: x.target, prefix: x.prefixes[index] };
}
