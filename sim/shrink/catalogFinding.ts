import type { CatalogEntry } from '../scenario/catalog.ts';
import { compileScenario } from '../scenario/compile.ts';
import { PRESETS } from '../variants/presets.ts';
import { runSeeds } from '../fuzz.ts';
import { estimateSteps, type StrategyName } from '../schedule/strategy.ts';
import type { Finding } from '../finding.ts';

/**
 * The first finding of one of a built-in race's expected oracles under its buggy preset, seeds
 * from 0 (the lowest failing seed): the raw input the shrink tests and bench start from.
 * Deterministic; throws when `maxSeeds` seeds find nothing. `depth`: PCT's (a race of more
 * preemptions, e.g. ksm-stale-tlb, needs more than the default 3).
 */
export function firstCatalogFinding(entry: CatalogEntry, maxSeeds = 20000, strategy: StrategyName = 'random', chunk = 2000, depth = 3): Finding {
  const sc = compileScenario(entry.scenario);
  const variant = PRESETS.get(entry.buggyVariant);
  if (variant === undefined) throw new Error(`${entry.scenario.name}: unknown buggy variant ${entry.buggyVariant}`);
  const spec = { name: strategy, depth, kSteps: estimateSteps(sc, variant.sites) };
  for (let start = 0; start < maxSeeds; start += chunk) {
    const b = runSeeds(sc, variant, spec, start, Math.min(chunk, maxSeeds - start));
    const f = b.findings.find((x) => entry.expect.includes(x.oracle));
    if (f) return f;
  }
  throw new Error(`${entry.scenario.name}: no ${entry.expect.join('/')} in ${maxSeeds} ${strategy} seeds`);
}
