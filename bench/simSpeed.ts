import { CATALOG } from '../sim/scenario/catalog.ts';
import { compileScenario } from '../sim/scenario/compile.ts';
import { PRESETS } from '../sim/variants/presets.ts';
import { runSeeds } from '../sim/fuzz.ts';
import { estimateSteps, type StrategyName } from '../sim/schedule/strategy.ts';

export interface SpeedRow {
  scenario: string;
  variant: string;
  strategy: StrategyName;
  schedules: number;
  steps: number;
  ms: number;
  stepsPerSec: number;
  schedulesPerSec: number;
  avgSteps: number;
}

/**
 * Simulator speed on one core, fuzz mode (no trace): each scenario under its buggy preset (the
 * fuzzing case that matters) runs batches of seeds for about `millis` after a warm-up.
 */
export function measureSimSpeed(millis: number, strategies: StrategyName[] = ['random', 'pct']): SpeedRow[] {
  const rows: SpeedRow[] = [];
  for (const entry of CATALOG) {
    const sc = compileScenario(entry.scenario);
    const variant = PRESETS.get(entry.buggyVariant)!;
    const kSteps = estimateSteps(sc, variant.sites);
    for (const strategy of strategies) {
      const spec = { name: strategy, depth: 3, kSteps };
      runSeeds(sc, variant, spec, 1_000_000, 2000); // warm-up: let the JIT settle
      let schedules = 0;
      let steps = 0;
      let seed = 0;
      const t0 = performance.now();
      let t = t0;
      while (t - t0 < millis) {
        const b = runSeeds(sc, variant, spec, seed, 1000);
        seed += 1000;
        schedules += b.schedules;
        steps += b.steps;
        t = performance.now();
      }
      const ms = t - t0;
      rows.push({
        scenario: sc.name,
        variant: variant.name,
        strategy,
        schedules,
        steps,
        ms,
        stepsPerSec: (steps / ms) * 1000,
        schedulesPerSec: (schedules / ms) * 1000,
        avgSteps: steps / schedules,
      });
    }
  }
  return rows;
}
