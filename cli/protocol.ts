import type { BatchResult } from '../sim/fuzz.ts';
import type { ScenarioJson } from '../sim/scenario/compiled.ts';
import type { StrategySpec } from '../sim/schedule/strategy.ts';
import type { Variant } from '../sim/variants/presets.ts';
import type { OracleName } from '../sim/oracles/violation.ts';

/** What a fuzz worker thread gets once, as workerData: it compiles the scenario itself. */
export interface WorkerInit {
  readonly scenario: ScenarioJson;
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

export type ToWorker = { readonly type: 'run'; readonly chunk: Chunk };

export type FromWorker =
  | { readonly type: 'progress'; readonly chunk: number; readonly done: number }
  | { readonly type: 'result'; readonly chunk: number; readonly batch: BatchResult };
