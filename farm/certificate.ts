import type { ExhaustiveSpec, PrefixOutcome } from './exhaustiveSpec.ts';

/**
 * The certificate of an exhaustive campaign, read from its prefix jobs' outcomes as the unsplit
 * search would report it. The prefixes are in the search's depth-first order and partition it, so
 * walking the jobs in index order replays the unsplit search job by job: it stops at the first job
 * that hit a race (the unsplit search's first race, when the split is exact), or at the job that
 * takes the executions over maxSchedules (the unsplit search stops there, incomplete).
 */
export interface Certificate {
  /** Every prefix job recorded, none stopped at a race, and the whole search within maxSchedules. */
  readonly complete: boolean;
  readonly bound: number;
  /** Schedules (executions run to the end) as the unsplit search counts them: up to its stop. */
  readonly schedules: number;
  readonly pruned: number;
  /** Distinct verdicts up to the stop (sorted). */
  readonly verdicts: readonly string[];
  /** Prefix jobs, and how many are recorded. */
  readonly prefixes: number;
  readonly prefixesDone: number;
  /** Every recorded job is exact, and no cut falls inside a job (see `exact` in PrefixOutcome). */
  readonly exact: boolean;
  /** The first race in search order, when the search stopped at one. */
  readonly race: { readonly prefix: number; readonly signature: string; readonly oracle: string } | null;
  /** Why the certificate is not complete: pending (jobs still to record), race, budget, failed. */
  readonly stoppedBy: 'pending' | 'race' | 'budget' | 'failed' | null;
  /** Work the farm did: schedules of every recorded job, including those after the stop. */
  readonly exploredSchedules: number;
}

/**
 * `outcomes[i]` is prefix job i's outcome, or undefined while it is not recorded; `failed` holds
 * the indexes of jobs that failed for good.
 */
export function certificateOf(x: Pick<ExhaustiveSpec, 'bound' | 'maxSchedules'>, prefixes: number, outcomes: ReadonlyMap<number, PrefixOutcome>, failed: ReadonlySet<number>): Certificate {
  let executions = 0;
  let schedules = 0;
  let pruned = 0;
  let exact = true;
  let explored = 0;
  for (const o of outcomes.values()) {
    explored += o.schedules;
    if (!o.exact) exact = false;
  }
  const verdicts = new Set<string>();
  let stoppedBy: Certificate['stoppedBy'] = null;
  let race: Certificate['race'] = null;
  for (let i = 0; i < prefixes; i++) {
    const o = outcomes.get(i);
    if (o === undefined) {
      stoppedBy = failed.has(i) ? 'failed' : 'pending';
      break;
    }
    if (o.hit !== null && executions + o.hit.execution <= x.maxSchedules) {
      schedules += o.schedules;
      pruned += o.pruned;
      for (const v of o.verdicts) verdicts.add(v);
      race = { prefix: i, signature: o.hit.signature, oracle: o.hit.oracle };
      stoppedBy = 'race';
      break;
    }
    if (o.hit !== null || !o.complete || executions + o.schedules + o.pruned > x.maxSchedules) {
      // The unsplit search runs out of budget inside this job: how many of its schedules it would
      // have run is not known from the job's totals (the job ran its subtree on its own cap).
      const left = Math.max(0, x.maxSchedules - executions);
      schedules += Math.min(o.schedules, left);
      pruned += Math.min(o.pruned, Math.max(0, left - Math.min(o.schedules, left)));
      for (const v of o.verdicts) verdicts.add(v);
      exact = false;
      stoppedBy = 'budget';
      break;
    }
    executions += o.schedules + o.pruned;
    schedules += o.schedules;
    pruned += o.pruned;
    for (const v of o.verdicts) verdicts.add(v);
  }
  return {
    complete: stoppedBy === null,
    bound: x.bound,
    schedules,
    pruned,
    verdicts: [...verdicts].sort(),
    prefixes,
    prefixesDone: outcomes.size,
    exact,
    race,
    stoppedBy,
    exploredSchedules: explored,
  };
}
