import { generateProgram } from '../sim/generate/generation.ts';
import { EXPLORE_STRATEGIES, type ExploreStrategy } from '../sim/generate/explore.ts';
import type { FindingStrategy } from '../sim/finding.ts';
import type { ScenarioJson } from '../sim/scenario/compiled.ts';
import type { Sites } from '../sim/variants/sites.ts';

/**
 * An explore campaign (`campaign start --explore`): generated programs instead of one scenario
 * (sim/generate, the farm's `racefarm explore`). Its "seeds" are program seeds: a job runs programs
 * [seedStart, seedStart + seedCount), each with `schedules` schedules of `strategy`, exactly as
 * explorePrograms does locally, so the farm's range machinery (the recorded-range guard, failed
 * ranges, retries, cancel) counts every program once. Findings embed their program; the minimize
 * queue shrinks the program, then the schedule (sim/generate/minimization.ts).
 */
export interface ExploreCampaign {
  /** Schedules per program (seeds 0..schedules-1). */
  readonly schedules: number;
  /** mixed (half random, half PCT), random or pct. */
  readonly strategy: ExploreStrategy;
  /** PCT depth. */
  readonly depth: number;
}

export const EXPLORE_DEFAULTS = { schedules: 100, strategy: 'mixed' as ExploreStrategy, batchSize: 100 };
export const EXPLORE_LIMITS = { schedules: 100_000 };
/** The program strategies a farm explore campaign runs (the coverage strategy's corpus is per program, but not offered yet). */
export const FARM_EXPLORE_STRATEGIES: readonly ExploreStrategy[] = EXPLORE_STRATEGIES.filter((s) => s !== 'coverage');

/**
 * The strategy an explore campaign is listed with: "explore" (its programs' schedules follow the
 * explore spec's strategy). Never given to a chooser: explore jobs run sim/generate/explore.ts,
 * whose findings carry the random or pct strategy they were found with.
 */
export function exploreListing(depth: number): FindingStrategy {
  return { name: 'explore', depth, kSteps: 0 } as unknown as FindingStrategy;
}

/** The scenario an explore campaign is listed with (and its fields read from): its first program. */
export function exploreStub(seedStart: number, variant: { readonly name: string; readonly sites: Sites }): ScenarioJson {
  return { ...generateProgram(seedStart, { variant: { name: variant.name, description: '', sites: variant.sites } }), name: 'explore' };
}

/** Checks an explore campaign's own fields; problems name the request field. */
export function validateExploreFields(req: { strategy?: string; schedules_per_program?: number; depth?: number }, problems: string[]): ExploreCampaign {
  const strategy = (req.strategy ?? '') === '' ? EXPLORE_DEFAULTS.strategy : (req.strategy as ExploreStrategy);
  if (!FARM_EXPLORE_STRATEGIES.includes(strategy)) {
    problems.push(`strategy: ${JSON.stringify(req.strategy)} is not a strategy of an explore campaign (${FARM_EXPLORE_STRATEGIES.join(', ')})`);
  }
  const schedules = req.schedules_per_program === undefined || req.schedules_per_program === 0 ? EXPLORE_DEFAULTS.schedules : req.schedules_per_program;
  if (!Number.isInteger(schedules) || schedules < 1 || schedules > EXPLORE_LIMITS.schedules) {
    problems.push(`schedules_per_program: must be 1 to ${EXPLORE_LIMITS.schedules}`);
  }
  return { schedules, strategy, depth: req.depth === undefined || req.depth === 0 ? 3 : req.depth };
}
