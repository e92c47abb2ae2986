import type { CellBudget, CellResult } from '../sim/compare/cell.ts';
import type { CellSpec } from '../sim/compare/matrix.ts';
import type { OracleName } from '../sim/oracles/violation.ts';

/** What a compare worker thread gets once, as workerData. */
export interface CompareWorkerInit {
  readonly budget: CellBudget;
  /** The oracles that count (`--oracles`), as an array: it crosses to worker threads. */
  readonly oracles: readonly OracleName[];
}

export type CompareToWorker = { readonly type: 'cell'; readonly spec: CellSpec };
export type CompareFromWorker = { readonly type: 'result'; readonly index: number; readonly result: CellResult };
