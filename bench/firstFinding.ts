import { catalogEntry } from '../sim/scenario/catalog.ts';
import { compileScenario } from '../sim/scenario/compile.ts';
import { PRESETS } from '../sim/variants/presets.ts';
import { runSeeds } from '../sim/fuzz.ts';
import { estimateSteps, type StrategySpec } from '../sim/schedule/strategy.ts';
import { emptyCorpus } from '../sim/schedule/coverage.ts';
import { exhaustive } from '../sim/schedule/exhaustive.ts';
import { NOT_A_RACE } from '../sim/oracles/violation.ts';
import { summarize, type Summary } from './stats.ts';

/** The strategies of figure 2, by the label the bench reports. */
export const FIRST_FINDING_STRATEGIES = ['random', 'pct-1', 'pct-2', 'pct-3', 'coverage', 'exhaustive-2'] as const;
export type FirstFindingStrategy = (typeof FIRST_FINDING_STRATEGIES)[number];

/** Campaign seed k starts its seeds at this multiple of k: campaigns never share a seed. */
export const CAMPAIGN_STRIDE = 1_000_000;

/** Seeds per runSeeds call in a search. */
const BATCH = 25;

export interface FirstFindingRun {
  /** Campaign seed k (seeds start at k × CAMPAIGN_STRIDE). */
  campaign: number;
  /** Schedules run up to and including the first one that hit an expected oracle; null = not within the cap. */
  schedules: number | null;
  /** Wall time of the search up to that schedule (up to the cap when not found). */
  ms: number;
  oracle: string | null;
}

export interface FirstFindingRow {
  scenario: string;
  variant: string;
  strategy: FirstFindingStrategy;
  /** Largest number of schedules one search may run before it reports "not found within cap". */
  cap: number;
  /** Campaign seeds (searches). */
  campaigns: number;
  schedules: Summary;
  ms: Summary;
  /** Exhaustive search only: complete runs and runs the partial-order reduction cut short. */
  exhaustive?: { complete: number; pruned: number; deterministic: true };
  runs: FirstFindingRun[];
  note?: string;
}

function spec(strategy: FirstFindingStrategy, kSteps: number): StrategySpec {
  switch (strategy) {
    case 'random':
      return { name: 'random', depth: 3, kSteps };
    case 'pct-1':
      return { name: 'pct', depth: 1, kSteps };
    case 'pct-2':
      return { name: 'pct', depth: 2, kSteps };
    case 'pct-3':
      return { name: 'pct', depth: 3, kSteps };
    case 'coverage':
      return { name: 'coverage', depth: 3, kSteps };
    default:
      throw new Error(`not a seeded strategy: ${strategy}`);
  }
}

/**
 * Time to first finding of one built-in race (its buggy preset) with one strategy, over
 * `campaigns` campaign seeds. A search runs seeds k·1e6, k·1e6+1, … one schedule at a time and stops
 * at the first schedule on which one of the race's expected oracles fires, or at `cap` schedules
 * (counted exactly; run in batches of 25, see below).
 * The coverage strategy keeps one corpus per search (a campaign), exactly as one runSeeds call
 * over the whole range would.
 *
 * The exhaustive search (bound 2, partial-order reduction, stop at the first race) has no seed: it
 * is deterministic, so it runs `repeats` times for the timing and its schedule count has no spread.
 * Its "schedules" are executions: complete runs plus the runs the reduction cut short.
 */
export function measureFirstFinding(scenario: string, strategy: FirstFindingStrategy, campaigns: number, cap: number, repeats = 1): FirstFindingRow {
  const entry = catalogEntry(scenario);
  if (!entry) throw new Error(`unknown scenario ${scenario}`);
  const sc = compileScenario(entry.scenario);
  const variant = PRESETS.get(entry.buggyVariant)!;
  const expected = new Set(entry.expect);
  const runs: FirstFindingRun[] = [];

  if (strategy === 'exhaustive-2') {
    let result = null;
    for (let i = 0; i < repeats; i++) {
      const t0 = performance.now();
      const r = exhaustive(sc, variant.sites, { bound: 2, reduction: true, stopAtFirst: true, maxSchedules: cap });
      const ms = performance.now() - t0;
      const hit = r.finding?.violations.find((v) => !NOT_A_RACE.has(v.oracle)) ?? null;
      runs.push({ campaign: i, schedules: hit ? r.schedules + r.pruned : null, ms, oracle: hit?.oracle ?? null });
      result = r;
    }
    const hitOracle = runs[0].oracle;
    return {
      scenario: sc.name,
      variant: variant.name,
      strategy,
      cap,
      campaigns: 1,
      schedules: summarize([runs[0].schedules]),
      ms: summarize(runs.map((r) => (r.schedules === null ? null : r.ms))),
      exhaustive: { complete: result!.schedules, pruned: result!.pruned, deterministic: true },
      runs,
      note:
        `deterministic DFS: one search (timed ${repeats}×), no campaign seeds` +
        (hitOracle !== null && !expected.has(hitOracle) ? `; first race oracle ${hitOracle} is not one the catalog expects` : ''),
    };
  }

  const s = spec(strategy, estimateSteps(sc, variant.sites));
  runSeeds(sc, variant, s, 999_999_000, 200); // warm-up (JIT), seeds no campaign uses
  for (let k = 0; k < campaigns; k++) {
    const start = k * CAMPAIGN_STRIDE;
    const opts = s.name === 'coverage' ? { corpus: emptyCorpus(), features: new Set<string>() } : {};
    let found: number | null = null;
    let oracle: string | null = null;
    let ms = 0;
    const t0 = performance.now();
    // Batches of BATCH seeds: runSeeds keeps, per signature, the lowest seed that produced it, so
    // the first schedule with an expected oracle is exact; its time is interpolated inside its
    // batch (an error of at most one batch, ~1 ms), which saves runSeeds' per-call set-up.
    for (let done = 0; done < cap && found === null; done += BATCH) {
      const n = Math.min(BATCH, cap - done);
      const tb = performance.now();
      const b = runSeeds(sc, variant, s, start + done, n, undefined, opts);
      const te = performance.now();
      let first = Infinity;
      for (const f of b.findings) {
        if (expected.has(f.oracle) && f.seed < first) {
          first = f.seed;
          oracle = f.oracle;
        }
      }
      if (first !== Infinity) {
        const i = first - (start + done);
        found = done + i + 1;
        ms = tb - t0 + ((te - tb) * (i + 1)) / n;
      }
    }
    runs.push({ campaign: k, schedules: found, ms: found === null ? performance.now() - t0 : ms, oracle });
  }
  return {
    scenario: sc.name,
    variant: variant.name,
    strategy,
    cap,
    campaigns,
    schedules: summarize(runs.map((r) => r.schedules)),
    ms: summarize(runs.map((r) => (r.schedules === null ? null : r.ms))),
    runs,
  };
}
