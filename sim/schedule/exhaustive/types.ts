import type { Violation } from '../../oracles/violation.ts';

/** Progress of a search, for a caller's display. */
export interface SearchProgress {
  readonly schedules: number;
  readonly pruned: number;
  /** Distinct (state, last thread) explored: 0 for the stateless DFS. */
  readonly states: number;
  /** Untried choices on the current path. */
  readonly frontier: number;
}

/**
 * How a caller (cli/) watches and stops a search without sim/ reading a clock or a signal: every
 * `every` executions the search reports progress and asks shouldStop; true ends it with
 * complete: false, stopped: 'aborted', and the counts so far.
 */
export interface SearchControl {
  readonly every?: number;
  readonly progress?: (p: SearchProgress) => void;
  readonly shouldStop?: () => boolean;
}

/** One distinct verdict and the first schedule that reached it. */
export interface VerdictExample {
  /** Sorted oracle names of the schedule, comma-joined; "" for a clean one. */
  readonly verdict: string;
  /** Schedules run to the end with this verdict (a stateful search runs each continuation once). */
  schedules: number;
  readonly decisions: readonly number[];
  readonly violations: readonly Violation[];
  readonly steps: number;
}

export interface ExhaustiveResult {
  /** Every schedule within the bound was covered (up to equivalence when reducing or caching). */
  readonly complete: boolean;
  /** Why the search ended. */
  readonly stopped: 'complete' | 'finding' | 'max-schedules' | 'max-states' | 'aborted';
  /** Executions run to the end. */
  readonly schedules: number;
  /** Executions cut short: every continuation equivalent to an explored one (POR) or from an explored state (stateful). */
  readonly pruned: number;
  /** Distinct (state, last thread) explored (stateful; 0 otherwise). */
  readonly states: number;
  /** Distinct World states seen (stateful; 0 otherwise). */
  readonly worldStates: number;
  /** Untried choices left on the path when the search stopped early (0 when complete). */
  readonly frontier: number;
  /** Preemption bound K; Infinity for unbounded. */
  readonly bound: number;
  readonly reduction: boolean;
  readonly stateful: boolean;
  /** Distinct verdicts seen: the sorted oracle names of a schedule, "" for a clean one. */
  readonly verdicts: readonly string[];
  /** Per verdict, in the order first reached: how many schedules and the first one. */
  readonly examples: readonly VerdictExample[];
  /** The first schedule on which a race oracle (or one of `target`) fired. */
  readonly finding: {
    readonly decisions: readonly number[];
    readonly violations: readonly Violation[];
    readonly steps: number;
    readonly threadNames: readonly string[];
    /** Index of the schedule in the search order. */
    readonly schedule: number;
  } | null;
}
