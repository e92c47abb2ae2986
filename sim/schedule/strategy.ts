import type { Chooser } from './chooser.ts';
import { RandomChooser } from './random.ts';
import { PctChooser } from './pct.ts';
import { ReplayChooser } from './replay.ts';
import { CoverageChooser, emptyCorpus } from './coverage.ts';
import { runOnce } from '../run.ts';
import type { CompiledScenario } from '../scenario/compiled.ts';
import type { Sites } from '../variants/sites.ts';

export const STRATEGIES = ['random', 'pct', 'coverage'] as const;
export type StrategyName = (typeof STRATEGIES)[number];

/** Everything that, with a seed, determines a schedule. Stored in a finding. */
export interface StrategySpec {
  readonly name: StrategyName;
  /** PCT depth d (bugs of depth d: d-1 priority change points). */
  readonly depth: number;
  /** PCT's k: the expected number of steps a run takes, over which change points are drawn. */
  readonly kSteps: number;
}

export function threadCount(sc: CompiledScenario): number {
  return sc.threads.length + (sc.world.iommu !== 'none' ? 1 : 0);
}

/**
 * PCT needs k, the run length. racefarm uses the length of the run with no preemption at all
 * (decisions always continue the running thread), which is deterministic per scenario and variant.
 */
export function estimateSteps(sc: CompiledScenario, sites: Sites): number {
  return runOnce(sc, sites, new ReplayChooser([])).steps;
}

export function makeChooser(spec: StrategySpec, seed: number, threads: number): Chooser {
  switch (spec.name) {
    case 'random':
      return new RandomChooser(seed);
    case 'pct':
      return new PctChooser(seed, threads, spec.depth, spec.kSteps);
    case 'coverage':
      // The corpus is campaign state that runSeeds keeps (sim/fuzz.ts); a lone chooser has none
      // yet, and explores at random.
      return new CoverageChooser(seed, emptyCorpus());
  }
}
