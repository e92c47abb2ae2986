import { compileScenario } from '../sim/scenario/compile.ts';
import type { CompiledScenario } from '../sim/scenario/compiled.ts';
import type { Variant } from '../sim/variants/presets.ts';
import { emptyBatch, mergeBatches, runSeeds, type BatchResult } from '../sim/fuzz.ts';
import { newCoverageCampaign, runCoverageCampaign } from '../sim/coverage/campaign.ts';
import type { FuzzJobData } from '../farm/jobs.ts';

/**
 * Seeds run between two yields to the event loop (which keeps the job's lock renewed and lets a
 * shutdown signal in): sized to take about CHUNK_MS, whatever a run of the scenario costs.
 */
const CHUNK_MS = 50;

const compiled = new Map<string, { sc: CompiledScenario; variant: Variant }>();

export function prepare(data: FuzzJobData): { sc: CompiledScenario; variant: Variant } {
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
  const strategy = data.strategy;
  if (strategy.name === 'exhaustive') throw new Error('a prefix job of an exhaustive campaign is not a seed range (worker/exhaustive.ts runs it)');
  const { sc, variant } = prepare(data);
  const out = emptyBatch();
  const end = data.seedStart + data.seedCount;
  // With coverage, one coverage state spans the job's chunks, as one runSeeds call would keep it.
  const cov = data.coverage ? newCoverageCampaign() : null;
  let chunk = 32;
  for (let s = data.seedStart; s < end; ) {
    const n = Math.min(chunk, end - s);
    const t0 = performance.now();
    mergeBatches(out, cov ? runCoverageCampaign(sc, variant, strategy, s, n, cov) : runSeeds(sc, variant, strategy, s, n));
    const ms = performance.now() - t0;
    chunk = Math.max(1, Math.min(100_000, Math.round(ms > 0 ? (n * CHUNK_MS) / ms : n * 4), n * 4));
    s += n;
    if (s < end) await new Promise<void>((r) => setImmediate(r));
  }
  return out;
}
