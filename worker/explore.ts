import type { BatchResult } from '../sim/fuzz.ts';
import { emptyExplore, exploreProgram, mergeExplore } from '../sim/generate/explore.ts';
import { OBSERVABLE_ORACLES } from '../sim/oracles/classes.ts';
import type { FuzzJobData } from '../farm/jobs.ts';

/** Programs between two yields to the event loop (BullMQ renews the job's lock there). */
const PROGRAMS_PER_TICK = 4;

/**
 * An explore campaign's job (farm/exploreCampaign.ts): programs [seedStart, seedStart + seedCount),
 * each generated and run with the campaign's schedules, as `racefarm explore` runs them (observable
 * oracles; one finding per signature, from the lowest program, then schedule). Deterministic: the
 * same range gives the same result on any worker, so a retried job changes nothing.
 */
export async function runExploreJob(d: FuzzJobData): Promise<BatchResult & { programs: number }> {
  const x = d.explore;
  if (x === undefined) throw new Error('not an explore job');
  const variant = { name: d.variant.name, description: '', sites: d.variant.sites };
  const opts = { variant, schedules: x.schedules, strategy: x.strategy, depth: x.depth, oracles: OBSERVABLE_ORACLES };
  const out = emptyExplore(false);
  const end = d.seedStart + d.seedCount;
  for (let s = d.seedStart; s < end; s++) {
    mergeExplore(out, exploreProgram(s, opts));
    if ((s - d.seedStart) % PROGRAMS_PER_TICK === PROGRAMS_PER_TICK - 1 && s + 1 < end) await new Promise<void>((r) => setImmediate(r));
  }
  return { schedules: out.schedules, steps: out.steps, byOracle: out.byOracle, findings: out.findings.map((f) => f.finding), programs: out.programs };
}
