import { runThreadPool, threadEntry } from './threadPool.ts';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileScenario } from '../sim/scenario/compile.ts';
import { CATALOG } from '../sim/scenario/catalog.ts';
import type { ScenarioJson } from '../sim/scenario/compiled.ts';
import { PRESETS, presetNames, type Variant } from '../sim/variants/presets.ts';
import { InputError } from '../sim/scenario/errors.ts';
import { DEFAULT_CELL_BUDGET, runCell, type CellBudget, type CellResult } from '../sim/compare/cell.ts';
import { assemble, cellSpecs, type CellSpec, type Matrix } from '../sim/compare/matrix.ts';
import { renderFindingHtml } from '../sim/trace/html.ts';
import { selectionText } from '../sim/oracles/classes.ts';
import { loadScenario, loadVariant } from './inputs.ts';
import { oraclesOption } from './fuzz.ts';
import { UsageError } from './errors.ts';
import { COMPARE_FORMATS, renderMatrix, type CompareFormat, type WrittenCell } from './compareFormat.ts';
import type { CompareFromWorker, CompareToWorker, CompareWorkerInit } from './compareProtocol.ts';

/** The kernels of the 2017 linux-mm question, and the hypothetical that fails the COW table. */
export const DEFAULT_COMPARE_VARIANTS = ['v4.10', 'v4.11', 'v4.13', 'v4.15', 'v6.6', 'range-end-only'];

export interface CompareOptions {
  readonly variants: string;
  readonly scenarios: string;
  readonly preemptions: number;
  readonly seeds: number;
  readonly maxSchedules: number;
  readonly shrinkRuns: number;
  readonly oracles: string;
  readonly workers: number;
  readonly out: string;
  readonly format: string;
}

/** A comma-separated list: every entry non-empty, no entry twice. `all` alone means every one. */
function splitList(flag: string, text: string): string[] | 'all' {
  const items = text.split(',').map((s) => s.trim());
  if (items.length === 1 && items[0] === 'all') return 'all';
  if (items.some((s) => s === '')) throw new UsageError(`${flag}: empty entry in "${text}" (a comma-separated list of names or files, or all)`);
  if (items.includes('all')) throw new UsageError(`${flag}: "all" cannot be combined with other entries`);
  const dup = items.find((s, i) => items.indexOf(s) !== i);
  if (dup !== undefined) throw new UsageError(`${flag}: "${dup}" is listed twice`);
  return items;
}

/** Re-labels a --scenario/--variant input error with the list flag it came from. */
function asListError(flag: string, single: string, e: unknown): unknown {
  if (e instanceof InputError) {
    const headline = e.message.split('\n')[0].replace(/:$/, '');
    return new InputError(headline, e.problems.map((p) => p.replace(single, flag)));
  }
  return e;
}

export function resolveScenarios(text: string): ScenarioJson[] {
  const list = splitList('--scenarios', text);
  if (list === 'all') return CATALOG.map((e) => compileScenario(e.scenario).source);
  const out = list.map((name) => {
    try {
      return loadScenario(name).source;
    } catch (e) {
      throw asListError('--scenarios', '--scenario', e);
    }
  });
  const names = out.map((s) => s.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new UsageError(`--scenarios: two entries are the scenario "${dup}"`);
  return out;
}

export function resolveVariants(text: string): Variant[] {
  const list = splitList('--variants', text);
  if (list === 'all') return presetNames().map((n) => PRESETS.get(n)!);
  const out = list.map((name) => {
    try {
      // The scenario argument is only used when no variant is named: never here.
      return loadVariant(name, undefined as never);
    } catch (e) {
      throw asListError('--variants', '--variant', e);
    }
  });
  const names = out.map((v) => v.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new UsageError(`--variants: two entries are the variant "${dup}"`);
  return out;
}

/** A file-name-safe form of a scenario or variant name. */
function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_');
}

/** `<scenario>.<variant>.<signature>`: the signature names the variant and the steps, not the scenario. */
export function findingBaseName(c: CellResult): string {
  return `${safeName(c.scenario)}.${safeName(c.variant)}.${c.signature}`;
}

/** Runs the cells on a pool of worker threads; results by cell index. */
async function runPool(specs: readonly CellSpec[], init: CompareWorkerInit, threads: number, onCell: () => void): Promise<Map<number, CellResult>> {
  const results = new Map<number, CellResult>();
  const { entry, execArgv } = threadEntry('compareWorker');
  // Longest cells first would balance better, but cost is unknown up front: matrix order it is.
  await runThreadPool<CellSpec, CompareFromWorker>({
    entry,
    execArgv,
    workerData: init,
    threads,
    jobs: specs,
    post: (spec): CompareToWorker => ({ type: 'cell', spec }),
    onMessage: (m) => {
      results.set(m.index, m.result);
      onCell();
      return true;
    },
    what: 'compare',
    unfinished: 'the matrix was done',
  });
  return results;
}

/** Runs the matrix in this thread (workers = 1) or on worker threads; identical results either way. */
export async function runMatrix(
  scenarios: readonly ScenarioJson[],
  variants: readonly Variant[],
  budget: CellBudget,
  oracles: ReadonlySet<string>,
  workers: number,
  onCell: () => void = () => {},
): Promise<Matrix> {
  const specs = cellSpecs(scenarios, variants);
  const sel = oracles as ReadonlySet<never>;
  let results: Map<number, CellResult>;
  if (workers <= 1 || specs.length <= 1) {
    results = new Map();
    const compiled = new Map(scenarios.map((s) => [s.name, compileScenario(s)]));
    for (const s of specs) {
      results.set(s.index, runCell(compiled.get(s.scenario.name)!, s.variant, budget, sel));
      onCell();
    }
  } else {
    results = await runPool(specs, { budget, oracles: [...oracles] as CompareWorkerInit['oracles'] }, Math.min(workers, specs.length), onCell);
  }
  return assemble(scenarios, variants, results);
}

/** Writes each cell's shrunk finding (and, for HTML, its trace page beside it); returns the cells with their files. */
export function writeFindings(m: Matrix, out: string, html: boolean): WrittenCell[] {
  const withFinding = m.cells.some((c) => c.finding !== null);
  if (withFinding) {
    try {
      mkdirSync(out, { recursive: true });
    } catch (e) {
      throw new UsageError(`--out: cannot create directory ${out}: ${(e as Error).message}`);
    }
  }
  return m.cells.map((c) => {
    if (c.finding === null) return { cell: c, file: null, trace: null };
    const base = join(out, findingBaseName(c));
    const file = `${base}.json`;
    writeFileSync(file, JSON.stringify(c.finding, null, 2) + '\n');
    let trace: string | null = null;
    if (html) {
      const page = renderFindingHtml(c.finding);
      if (page.html !== null) {
        trace = `${base}.html`;
        writeFileSync(trace, page.html);
      }
    }
    return { cell: c, file, trace };
  });
}

/** `racefarm compare`: the variants × scenarios verdict matrix (README.md, `compare`). */
export async function compareCommand(o: CompareOptions): Promise<number> {
  if (!(COMPARE_FORMATS as readonly string[]).includes(o.format)) {
    throw new UsageError(`--format: "${o.format}" is not a format (${COMPARE_FORMATS.join(', ')})`);
  }
  const format = o.format as CompareFormat;
  const oracles = oraclesOption(o.oracles);
  const scenarios = resolveScenarios(o.scenarios);
  const variants = resolveVariants(o.variants);
  const budget: CellBudget = { ...DEFAULT_CELL_BUDGET, bound: o.preemptions, seeds: o.seeds, maxSchedules: o.maxSchedules, shrinkRuns: o.shrinkRuns };
  const total = scenarios.length * variants.length;
  process.stderr.write(
    `racefarm compare: ${scenarios.length} scenario(s) × ${variants.length} variant(s) = ${total} cell(s); exhaustive K=${budget.bound} ` +
      `within ${budget.maxSchedules} executions, else random + pct ${budget.seeds} seeds each; oracles ${selectionText(oracles)}; ` +
      `${Math.min(o.workers, total)} worker(s)\n`,
  );
  let done = 0;
  const showProgress = process.stderr.isTTY === true;
  const t0 = performance.now();
  const matrix = await runMatrix(scenarios, variants, budget, oracles, o.workers, () => {
    done++;
    if (showProgress) process.stderr.write(`\r${done}/${total} cells`);
  });
  if (showProgress) process.stderr.write('\n');
  const elapsedMs = Math.round(performance.now() - t0);
  const written = writeFindings(matrix, o.out, format === 'html');
  process.stdout.write(renderMatrix(format, matrix, written, { elapsedMs, budget, oracles: selectionText(oracles) }));
  return 0;
}

