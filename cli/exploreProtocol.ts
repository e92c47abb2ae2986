import type { ExploreBatch, ExploreStrategy } from '../sim/generate/explore.ts';
import type { Variant } from '../sim/variants/presets.ts';
import type { OracleName } from '../sim/oracles/violation.ts';
import type { FromChunkWorker, ToChunkWorker } from './chunkProtocol.ts';

/** What an explore worker thread gets once (workerData): the options of sim/generate/explore.ts, as plain data. */
export interface ExploreInit {
  readonly variant: Variant;
  readonly against?: Variant;
  readonly schedules: number;
  readonly strategy: ExploreStrategy;
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

export type ToExploreWorker = ToChunkWorker<ProgramChunk>;
export type FromExploreWorker = FromChunkWorker<ExploreBatch>;
