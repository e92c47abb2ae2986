import { CATALOG } from '../sim/scenario/catalog.ts';
import { compileScenario } from '../sim/scenario/compile.ts';
import { PRESETS } from '../sim/variants/presets.ts';
import { estimateSteps, type StrategyName } from '../sim/schedule/strategy.ts';
import { coverageCurve } from '../sim/coverage/campaign.ts';

export interface CoverageRow {
  scenario: string;
  variant: string;
  strategy: StrategyName;
  schedules: number;
  /** Distinct coverage features (sim/coverage/features.ts) after all schedules. */
  features: number;
  /** Features after each `points`-th part of the schedules (a tenth by default): coverage over time. */
  curve: number[];
  /** Schedules run at each point of `curve`. */
  curveAt: number[];
  /** Corpus size at the end (coverage strategy). */
  corpus: number;
  /** Distinct finding signatures (expected oracles of the race) reached. */
  signatures: number;
  ms: number;
}

/**
 * Coverage after `schedules` schedules of each strategy on every built-in scenario under its
 * buggy preset (seeds from 0, one campaign per strategy, so the coverage strategy's corpus spans
 * all of them). PCT at depth 3 with k = the no-preemption run length.
 */
export function measureCoverage(schedules = 10_000, strategies: StrategyName[] = ['random', 'pct', 'coverage'], points = 10): CoverageRow[] {
  return CATALOG.flatMap((e) => measureCoverageEntry(e.scenario.name, schedules, strategies, points));
}

/** measureCoverage for one built-in scenario, with the curve sampled at `points` points. */
export function measureCoverageEntry(
  scenario: string,
  schedules = 10_000,
  strategies: StrategyName[] = ['random', 'pct', 'coverage'],
  points = 10,
): CoverageRow[] {
  const rows: CoverageRow[] = [];
  const every = Math.max(1, Math.floor(schedules / points));
  for (const entry of CATALOG.filter((e) => e.scenario.name === scenario)) {
    const sc = compileScenario(entry.scenario);
    const variant = PRESETS.get(entry.buggyVariant)!;
    const kSteps = estimateSteps(sc, variant.sites);
    for (const strategy of strategies) {
      const t0 = performance.now();
      const { campaign, batch } = coverageCurve(sc, variant, { name: strategy, depth: 3, kSteps }, schedules, every);
      rows.push({
        scenario: sc.name,
        variant: variant.name,
        strategy,
        schedules: campaign.schedules,
        features: campaign.features.size,
        curve: campaign.history.map((h) => h.features),
        curveAt: campaign.history.map((h) => h.schedules),
        corpus: campaign.corpus.entries.length,
        signatures: batch.findings.filter((f) => entry.expect.includes(f.oracle)).length,
        ms: performance.now() - t0,
      });
    }
  }
  return rows;
}

export function formatCoverage(rows: readonly CoverageRow[]): string {
  const out = ['scenario                  strategy  schedules  features  corpus  signatures  ms      coverage over time (every tenth)'];
  for (const r of rows) {
    out.push(
      `${r.scenario.padEnd(26)}${r.strategy.padEnd(10)}${String(r.schedules).padEnd(11)}${String(r.features).padEnd(10)}${String(r.corpus).padEnd(8)}${String(r.signatures).padEnd(12)}${r.ms.toFixed(0).padEnd(8)}${r.curve.join(' ')}`,
    );
  }
  const by = (s: string) => rows.filter((r) => r.strategy === s).reduce((a, r) => a + r.features, 0);
  const strategies = [...new Set(rows.map((r) => r.strategy))];
  out.push(`total features: ${strategies.map((s) => `${s} ${by(s)}`).join(', ')}`);
  return out.join('\n');
}
