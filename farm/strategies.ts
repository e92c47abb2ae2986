import type { StrategyName } from '../sim/schedule/strategy.ts';

/** Strategies whose runs depend only on the seed, so any worker can run any seed range. */
export const FARM_STRATEGIES = ['random', 'pct'] as const satisfies readonly StrategyName[];
