import { PRESETS } from '../sim/variants/presets.ts';
import { explorePrograms } from '../sim/generate/explore.ts';
import { catalogCoverage, coverageUniverse, emptyCoverage, mergeCoverage, programCoverage, type ProgramCoverage } from '../sim/generate/coverage.ts';
import { generateProgram } from '../sim/generate/generation.ts';
import { validateProgram } from '../sim/generate/validation.ts';
import { OBSERVABLE_ORACLES } from '../sim/oracles/classes.ts';
import type { ExploreStrategy } from '../sim/generate/explore.ts';

/**
 * Issue 11's bench figures: how fast `racefarm explore` runs generated programs (one core, the
 * explore loop of sim/generate/explore.ts exactly as a worker thread runs it: generate, validate,
 * M schedules of its default mixed strategy, observable oracles; no shrinking, no files), and what N generated programs reach
 * (sim/generate/coverage.ts: ops, op pairs on one page, notifier sites) next to the catalog's
 * scenarios under the same preset.
 */
export interface GeneratedSpeed {
  variant: string;
  strategy: ExploreStrategy;
  programs: number;
  schedulesPerProgram: number;
  schedules: number;
  steps: number;
  findings: number;
  ms: number;
  programsPerSec: number;
  schedulesPerSec: number;
  stepsPerSec: number;
}

export interface CoverageCounts {
  programs: number;
  ops: number;
  pairs: number;
  sites: number;
}

export interface GeneratedCoverage {
  variant: string;
  generated: CoverageCounts;
  catalog: CoverageCounts;
  universe: { ops: number; sites: number };
  /** Reached by the catalog and not by the generated programs (should be empty), and the reverse (counted). */
  catalogOnly: { ops: string[]; pairs: string[]; sites: string[] };
  generatedOnly: { ops: number; pairs: number; sites: number };
  /** Drawable ops / sites that neither reaches. */
  unreached: { ops: string[]; sites: string[] };
  ms: number;
}

export interface GeneratedResult {
  speed: GeneratedSpeed[];
  coverage: GeneratedCoverage[];
}

const counts = (c: ProgramCoverage): CoverageCounts => ({
  programs: c.programs,
  ops: Object.keys(c.ops).length,
  pairs: Object.keys(c.pairs).length,
  sites: Object.keys(c.sites).length,
});

const minus = (a: Record<string, number>, b: Record<string, number>): string[] => Object.keys(a).filter((k) => !(k in b)).sort();

/**
 * Speed first (millis per variant after a warm-up), then coverage of `coveragePrograms` programs:
 * the coverage report reads the sites through a Proxy, which turns the simulator's inline caches
 * megamorphic for the rest of the process (bench/pool.ts), so nothing is timed after it.
 */
export function measureGenerated(millis: number, schedules: number, coveragePrograms: number, variants: readonly string[] = ['v4.13', 'v6.6']): GeneratedResult {
  const speed: GeneratedSpeed[] = [];
  for (const name of variants) {
    const variant = PRESETS.get(name)!;
    // explore's defaults: the mixed strategy (half random, half PCT), observable oracles.
    const o = { variant, schedules, strategy: 'mixed' as const, oracles: OBSERVABLE_ORACLES };
    explorePrograms(1_000_000, 20, o); // warm-up (JIT), programs no measurement uses
    let programs = 0;
    let sched = 0;
    let steps = 0;
    let findings = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < millis) {
      const b = explorePrograms(programs, 10, o);
      programs += b.programs;
      sched += b.schedules;
      steps += b.steps;
      findings += b.findings.length;
      t = performance.now();
    }
    const ms = t - t0;
    speed.push({
      variant: name,
      strategy: 'mixed',
      programs,
      schedulesPerProgram: schedules,
      schedules: sched,
      steps,
      findings,
      ms,
      programsPerSec: (programs / ms) * 1000,
      schedulesPerSec: (sched / ms) * 1000,
      stepsPerSec: (steps / ms) * 1000,
    });
  }
  const universe = coverageUniverse();
  const coverage: GeneratedCoverage[] = variants.map((name) => {
    const variant = PRESETS.get(name)!;
    const t0 = performance.now();
    const gen = emptyCoverage();
    for (let seed = 0; seed < coveragePrograms; seed++) {
      const sc = validateProgram(generateProgram(seed, { variant }), variant);
      mergeCoverage(gen, programCoverage(sc, variant.sites));
    }
    const cat = catalogCoverage(variant.sites);
    return {
      variant: name,
      generated: counts(gen),
      catalog: counts(cat),
      universe: { ops: universe.ops.length, sites: universe.sites.length },
      catalogOnly: { ops: minus(cat.ops, gen.ops), pairs: minus(cat.pairs, gen.pairs), sites: minus(cat.sites, gen.sites) },
      generatedOnly: { ops: minus(gen.ops, cat.ops).length, pairs: minus(gen.pairs, cat.pairs).length, sites: minus(gen.sites, cat.sites).length },
      unreached: {
        ops: universe.ops.filter((x) => !(x in gen.ops) && !(x in cat.ops)),
        sites: universe.sites.filter((x) => !(x in gen.sites) && !(x in cat.sites)),
      },
      ms: performance.now() - t0,
    };
  });
  return { speed, coverage };
}
