import type { ScenarioJson } from '../scenario/compiled.ts';
import type { Variant } from '../variants/presets.ts';
import type { CellResult } from './cell.ts';

/**
 * The comparison matrix: scenarios × variants, one cell each, in a fixed order (scenario-major, in
 * the order the lists were given). Cells are independent, so any worker may run any cell; the
 * matrix is assembled by cell index, never by completion order, and so is the same for any number
 * of workers.
 */

export interface CellSpec {
  /** Index of the cell in matrix order. */
  readonly index: number;
  readonly scenario: ScenarioJson;
  readonly variant: Variant;
}

export interface Matrix {
  readonly scenarios: readonly string[];
  readonly variants: readonly string[];
  /** Scenario-major: cells[s * variants.length + v]. */
  readonly cells: readonly CellResult[];
}

export function cellSpecs(scenarios: readonly ScenarioJson[], variants: readonly Variant[]): CellSpec[] {
  const out: CellSpec[] = [];
  for (const scenario of scenarios) for (const variant of variants) out.push({ index: out.length, scenario, variant });
  return out;
}

/** Puts cell results (in any order, each with its spec index) into matrix order; throws if one is missing. */
export function assemble(scenarios: readonly ScenarioJson[], variants: readonly Variant[], results: ReadonlyMap<number, CellResult>): Matrix {
  const n = scenarios.length * variants.length;
  const cells: CellResult[] = [];
  for (let i = 0; i < n; i++) {
    const c = results.get(i);
    if (c === undefined) throw new Error(`compare: cell ${i} has no result`);
    cells.push(c);
  }
  return { scenarios: scenarios.map((s) => s.name), variants: variants.map((v) => v.name), cells };
}

export function cellAt(m: Matrix, scenario: number, variant: number): CellResult {
  return m.cells[scenario * m.variants.length + variant];
}
