import type { ExploreBatch } from '../sim/generate/explore.ts';
import type { Variant } from '../sim/variants/presets.ts';
import type { StrategyName } from '../sim/schedule/strategy.ts';
import type { OracleName } from '../sim/oracles/violation.ts';

/** What an explore worker thread gets once (workerData): the options of sim/generate/explore.ts, as plain data. */
export interface ExploreInit {
  readonly variant: Variant;
  readonly against?: Variant;
  readonly schedules: number;
  readonly strategy: StrategyName;
  readonly depth: number;
  readonly oracles: readonly OracleName[];
  readonly coverage: boolean;
}

/** Programs [programStart, programStart + count) of a run. */
export interface ProgramChunk {
  readonly index: number;
  readonly programStart: number;
  readonly count: number;
}

export type ToExploreWorker = { readonly type: 'run'; readonly chunk: ProgramChunk };
export type FromExploreWorker =
  | { readonly type: 'progress'; readonly chunk: number; readonly done: number }
  | { readonly type: 'result'; readonly chunk: number; readonly batch: ExploreBatch };
