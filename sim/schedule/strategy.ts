import type { Chooser } from './chooser.ts';
import { RandomChooser } from './random.ts';
import { PctChooser, pctDepth } from './pct.ts';
import { ReplayChooser } from './replay.ts';
import { CoverageChooser, emptyCorpus } from './coverage.ts';
import { runOnce } from '../run.ts';
import type { CompiledScenario } from '../scenario/compiled.ts';
import { faultWorkerCount } from '../kernel/threads.ts';
import type { Sites } from '../variants/sites.ts';

export const STRATEGIES = ['random', 'pct', 'coverage'] as const;
export type StrategyName = (typeof STRATEGIES)[number];

/** Everything that, with a seed, determines a schedule. Stored in a finding. */
export interface StrategySpec {
  readonly name: StrategyName;
  /**
   * PCT depth d (bugs of depth d: d-1 priority change points); 0 (PCT_AUTO_DEPTH, `--depth auto`):
   * each seed's own depth, pctDepth(0, seed). A finding records the depth its seed ran at.
   */
  readonly depth: number;
  /** PCT's k: the expected number of steps a run takes, over which change points are drawn. */
  readonly kSteps: number;
}

export function threadCount(sc: CompiledScenario): number {
  return sc.threads.length + faultWorkerCount(sc);
}

/**
 * PCT needs k, the run length. racefarm uses the length of the run with no preemption at all
 * (decisions always continue the running thread), which is deterministic per scenario and variant.
 */
export function estimateSteps(sc: CompiledScenario, sites: Sites): number {
  return runOnce(sc, sites, new ReplayChooser([])).steps;
}

/**
 * The strategy that replays seed `seed` on its own: under `--depth auto`, the depth that seed ran
 * at (so `trace --depth D --seed S` and a finding file name the same schedule).
 */
export function seedStrategy(spec: StrategySpec, seed: number): StrategySpec {
  return spec.name === 'pct' && spec.depth !== pctDepth(spec.depth, seed) ? { ...spec, depth: pctDepth(spec.depth, seed) } : spec;
}

export function makeChooser(spec: StrategySpec, seed: number, threads: number): Chooser {
  switch (spec.name) {
    case 'random':
      return new RandomChooser(seed);
    case 'pct':
      return new PctChooser(seed, threads, pctDepth(spec.depth, seed), spec.kSteps);
    case 'coverage':
      // The corpus is campaign state that runSeeds keeps (sim/fuzz.ts); a lone chooser has none
      // yet, and explores at random.
      return new CoverageChooser(seed, emptyCorpus());
  }
}
