import type { StrategyName } from '../sim/schedule/strategy.ts';

/**
 * Strategies the farm runs: random and pct, whose runs depend only on the seed, so any worker can
 * run any seed range; and exhaustive, split into decision-prefix jobs (farm/split.ts).
 */
export const FARM_STRATEGIES = ['random', 'pct', 'exhaustive'] as const satisfies readonly (StrategyName | 'exhaustive')[];
