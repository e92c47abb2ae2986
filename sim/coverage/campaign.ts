import type { CompiledScenario } from '../scenario/compiled.ts';
import type { Variant } from '../variants/presets.ts';
import type { StrategySpec } from '../schedule/strategy.ts';
import { emptyBatch, mergeBatches, runSeeds, type BatchResult } from '../fuzz.ts';
import { emptyCorpus, type Corpus } from '../schedule/coverage.ts';

/**
 * A coverage campaign's state: the features reached so far (readable form, see features.ts) and,
 * for the coverage strategy, the corpus of schedules that reached new ones. It is plain data owned
 * by the caller; running a batch updates it in place. Determinism: the same state and seed range
 * give the same batch and the same next state, so a campaign is reproducible as long as its
 * batches run in seed order against the state the previous batch left — in one process (`racefarm
 * fuzz`), or in the farm by shipping the corpus with each job. Batches run without a shared state
 * (runSeeds with the coverage strategy and no corpus) each start from an empty corpus: still
 * deterministic per seed range, but their corpora do not pool.
 */
export interface CoverageCampaign {
  readonly features: Set<string>;
  readonly corpus: Corpus;
  schedules: number;
  /** (schedules, features) after each batch: coverage over time. */
  readonly history: { schedules: number; features: number }[];
}

export function newCoverageCampaign(corpusLimit?: number): CoverageCampaign {
  return { features: new Set(), corpus: emptyCorpus(corpusLimit), schedules: 0, history: [] };
}

/**
 * Runs seeds [seedStart, seedStart + count) of a strategy against a campaign's state, collecting
 * coverage; with the coverage strategy the campaign's corpus steers and grows. Pure apart from
 * updating `state`.
 */
export function runCoverageCampaign(
  sc: CompiledScenario,
  variant: Variant,
  strategy: StrategySpec,
  seedStart: number,
  count: number,
  state: CoverageCampaign = newCoverageCampaign(),
): BatchResult {
  const b = runSeeds(sc, variant, strategy, seedStart, count, undefined, { coverage: true, corpus: state.corpus, features: state.features });
  state.schedules += b.schedules;
  state.history.push({ schedules: state.schedules, features: state.features.size });
  return b;
}

/**
 * Coverage after `total` schedules, measured every `every` schedules: the curve a bench or a
 * `fuzz --json` report shows. Runs the seeds from `seedStart` in batches against one campaign.
 */
export function coverageCurve(
  sc: CompiledScenario,
  variant: Variant,
  strategy: StrategySpec,
  total: number,
  every: number,
  seedStart = 0,
): { campaign: CoverageCampaign; batch: BatchResult } {
  const campaign = newCoverageCampaign();
  const all = emptyBatch();
  for (let s = 0; s < total; s += every) {
    mergeBatches(all, runCoverageCampaign(sc, variant, strategy, seedStart + s, Math.min(every, total - s), campaign));
  }
  return { campaign, batch: all };
}
