import { compileScenario } from '../sim/scenario/compile.ts';
import type { CompiledScenario } from '../sim/scenario/compiled.ts';
import type { Variant } from '../sim/variants/presets.ts';
import { emptyBatch, mergeBatches, runSeeds, type BatchResult } from '../sim/fuzz.ts';
import { newCoverageCampaign, runCoverageCampaign } from '../sim/coverage/campaign.ts';
import type { FuzzJobData } from '../farm/jobs.ts';

/** Seeds run between two yields to the event loop (which keeps job locks renewed). */
const CHUNK = 128;

const compiled = new Map<string, { sc: CompiledScenario; variant: Variant }>();

function prepare(data: FuzzJobData): { sc: CompiledScenario; variant: Variant } {
  let c = compiled.get(data.campaign);
  if (!c) {
    const src = { ...data.scenario, world: { ...data.scenario.world, maxSteps: data.maxSteps } };
    c = { sc: compileScenario(src), variant: { name: data.variant.name, description: '', sites: data.variant.sites } };
    if (compiled.size > 64) compiled.clear();
    compiled.set(data.campaign, c);
  }
  return c;
}

/**
 * Runs a fuzz job's seed range with the simulator's `runSeeds`, in chunks so the event loop can
 * renew the job's lock between them. Merging chunk results gives exactly what one `runSeeds` over
 * the whole range gives (sums, the lowest seed per signature, the union of coverage features).
 */
export async function runFuzzRange(data: FuzzJobData): Promise<BatchResult> {
  const { sc, variant } = prepare(data);
  const out = emptyBatch();
  const end = data.seedStart + data.seedCount;
  // With coverage, one coverage state spans the job's chunks, as one runSeeds call would keep it.
  const cov = data.coverage ? newCoverageCampaign() : null;
  for (let s = data.seedStart; s < end; s += CHUNK) {
    const n = Math.min(CHUNK, end - s);
    mergeBatches(out, cov ? runCoverageCampaign(sc, variant, data.strategy, s, n, cov) : runSeeds(sc, variant, data.strategy, s, n));
    if (s + CHUNK < end) await new Promise<void>((r) => setImmediate(r));
  }
  return out;
}
