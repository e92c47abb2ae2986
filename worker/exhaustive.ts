import { exhaustive, exhaustiveFindings } from '../sim/schedule/exhaustive.ts';
import { emptyBatch, type BatchResult } from '../sim/fuzz.ts';
import type { FuzzJobData } from '../farm/jobs.ts';
import type { PrefixOutcome } from '../farm/exhaustiveSpec.ts';
import { prepare } from './fuzz.ts';

/**
 * The work of one prefix job of an exhaustive campaign: the search of the subtree under the
 * job's decision prefix (sim/schedule/exhaustive.ts, `prefix`), stopping at the first schedule on
 * which a target oracle fires, as the local `fuzz --strategy exhaustive` does. A pure function of
 * the job, so a job run twice (a stalled job, a retry) reports the same outcome.
 *
 * The findings of the stopping schedule get the prefix index as their seed: the farm keeps the
 * lowest seed per signature, which is then the first prefix in search order that found it. Their
 * decisions are the whole schedule's (prefix included), so `repro` replays them like a local
 * exhaustive finding.
 */
export function runPrefixJob(data: FuzzJobData): { batch: BatchResult; outcome: PrefixOutcome } {
  const x = data.exhaustive;
  if (!x) throw new Error('not a prefix job');
  const { sc, variant } = prepare(data);
  const target = x.target ?? undefined;
  const r = exhaustive(sc, variant.sites, { bound: x.bound, reduction: x.reduction, stopAtFirst: true, maxSchedules: x.maxSchedules, target, prefix: x.prefix });
  const findings = exhaustiveFindings(sc, variant, r).map((f) => ({ ...f, seed: data.seedStart }));
  const first = target ? findings.find((f) => target.includes(f.oracle)) : findings[0];
  const outcome: PrefixOutcome = {
    complete: r.complete,
    schedules: r.schedules,
    pruned: r.pruned,
    verdicts: r.verdicts,
    hit: first ? { signature: first.signature, oracle: first.oracle, execution: r.schedules + r.pruned } : null,
    // With the reduction each job prunes only within its own subtree (sim/schedule/exhaustive/
    // prefixes.ts): the verdicts are the unsplit search's, the counts at least its counts.
    exact: !x.reduction,
  };
  return { batch: { ...emptyBatch(), schedules: r.schedules, findings }, outcome };
}
