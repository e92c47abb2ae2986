import type { BatchResult } from '../sim/fuzz.ts';
import type { CompiledScenario, ScenarioJson } from '../sim/scenario/compiled.ts';
import type { StrategySpec } from '../sim/schedule/strategy.ts';
import type { Variant } from '../sim/variants/presets.ts';
import type { OracleName } from '../sim/oracles/violation.ts';
import type { FromChunkWorker, ToChunkWorker } from './chunkProtocol.ts';

/** What a fuzz worker thread gets once, as workerData. */
export interface WorkerInit {
  readonly scenario: ScenarioJson;
  /**
   * The scenario as the parent compiled it (plain data, so it crosses as workerData). With it the
   * thread does not load sim/scenario/compile.ts and its schema library (zod), which was most of a
   * thread's start-up; without it the thread compiles `scenario` itself.
   */
  readonly compiled?: CompiledScenario;
  readonly variant: Variant;
  readonly strategy: StrategySpec;
  /** Collect coverage features (sim/coverage/features.ts) for the campaign's `coverage` count; off by default. */
  readonly coverage?: boolean;
  /** The oracles that count (`fuzz --oracles`); all when absent. An array: it crosses to worker threads. */
  readonly oracles?: readonly OracleName[];
}

/** One seed range of a campaign: seeds [seedStart, seedStart + count). */
export interface Chunk {
  readonly index: number;
  readonly seedStart: number;
  readonly count: number;
}

export type ToWorker = ToChunkWorker<Chunk>;
export type FromWorker = FromChunkWorker<BatchResult>;
