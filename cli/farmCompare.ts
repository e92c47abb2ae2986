import { existsSync, readFileSync } from 'node:fs';
import { CATALOG, catalogEntry } from '../sim/scenario/catalog.ts';
import { PRESETS, presetNames } from '../sim/variants/presets.ts';
import { ALL_ORACLES, selectionText } from '../sim/oracles/classes.ts';
import type { CellResult } from '../sim/compare/cell.ts';
import type { Matrix } from '../sim/compare/matrix.ts';
import { resolveScenarios, resolveVariants, writeFindings } from './compare.ts';
import { COMPARE_FORMATS, renderMatrix, type CompareFormat } from './compareFormat.ts';
import type { StartComparisonRequest } from './farmClient.ts';
import type { ComparisonView } from '../farm/comparisonStore.ts';
import { escapeText } from '../farm/safeText.ts';

/**
 * The client side of a farm comparison (`campaign compare`, `campaign status <comparison>`): the
 * lists are read as the local `racefarm compare` reads them (its own resolvers, so bad input exits 2
 * with the same messages), and the matrix is printed by the local command's renderer.
 */
export interface CompareFlags {
  variants: string;
  scenarios: string;
  preemptions?: number;
  seeds?: number;
  maxSchedules?: number;
  split?: number;
  name?: string;
  format: string;
}

/** A list entry: a built-in name goes by name, a file by its text (the coordinator has no files). */
function entries(text: string, all: () => string[]): string[] {
  const items = text.split(',').map((s) => s.trim());
  return items.length === 1 && items[0] === 'all' ? all() : items;
}

/** Validates the flags locally (as `racefarm compare`), then builds the request. Throws InputError / UsageError. */
export function comparisonRequest(o: CompareFlags, requestId: string): StartComparisonRequest {
  if (!(COMPARE_FORMATS as readonly string[]).includes(o.format)) throw Object.assign(new Error(`--format: "${o.format}" is not a format (${COMPARE_FORMATS.join(', ')})`), { code: 'EINPUT' });
  resolveScenarios(o.scenarios);
  resolveVariants(o.variants);
  const scenarios = entries(o.scenarios, () => CATALOG.map((e) => e.scenario.name)).map((s) =>
    catalogEntry(s) || !existsSync(s) ? { name: s } : { json: readFileSync(s, 'utf8') },
  );
  const variants = entries(o.variants, presetNames).map((v) => (PRESETS.has(v) || !existsSync(v) ? { preset: v } : { json: readFileSync(v, 'utf8') }));
  return {
    name: o.name ?? '',
    scenarios,
    variants,
    ...(o.preemptions !== undefined ? { preemptions: o.preemptions } : {}),
    seeds: o.seeds ?? 0,
    max_schedules: String(o.maxSchedules ?? 0),
    split: o.split ?? 0,
    request_id: requestId,
  };
}

/** The matrix of a finished comparison; null while a cell is not done (or failed). */
export function comparisonMatrix(c: ComparisonView): Matrix | null {
  if (c.cells.some((x) => x.result === null)) return null;
  return { scenarios: c.scenarios, variants: c.variants, cells: c.cells.map((x) => x.result as CellResult) };
}

/** What `racefarm compare --format F` prints for the same matrix (writing the findings to `out`). */
export function renderComparison(c: ComparisonView, format: string, out: string): string {
  const m = comparisonMatrix(c);
  if (m === null) throw new Error(`comparison ${c.id} is ${c.state}: ${failedText(c) || 'cells still running'}`);
  const written = writeFindings(m, out, format === 'html');
  const text = renderMatrix(format as CompareFormat, m, written, {
    elapsedMs: Math.max(0, c.finishedAtMs - c.createdAtMs),
    budget: { ...c.budget, shrinkRuns: 0 },
    oracles: selectionText(ALL_ORACLES),
  });
  // html escapes its own text and json is JSON; the text and markdown tables go to a terminal.
  return format === 'text' || format === 'markdown' ? terminalSafe(text) : text;
}

/**
 * Names, errors and signatures in a comparison come back from the coordinator's Redis, written
 * by any client: each line is escaped (control characters and lone surrogates as \uXXXX, so an
 * ESC sequence in a variant name cannot repaint the reader's terminal) and capped, as
 * `campaign status` does for campaigns (farm/safeText.ts).
 */
function terminalSafe(text: string): string {
  return text
    .split('\n')
    .map((line) => escapeText(line, 4000))
    .join('\n');
}

function failedText(c: ComparisonView): string {
  return c.cells
    .filter((x) => x.state === 'failed')
    .map((x) => `${x.scenario} × ${x.variant}: ${x.error}`)
    .join('; ');
}

/** `campaign status <comparison id>`: its state, its cells, and the text matrix once every cell is done. */
export function comparisonStatusText(c: ComparisonView): string {
  const done = c.cells.filter((x) => x.state === 'done' || x.state === 'failed').length;
  const lines = [
    `comparison ${c.id}${c.name ? ` (${c.name})` : ''}`,
    `state      ${c.state}`,
    `cells      ${done}/${c.cells.length} (${c.scenarios.length} scenario(s) × ${c.variants.length} variant(s))`,
    `budget     K=${c.budget.bound}, ${c.budget.maxSchedules} executions per search, ${c.split} prefix jobs per search; else random + pct ${c.budget.seeds} seeds`,
  ];
  const m = comparisonMatrix(c);
  if (m !== null) {
    lines.push('', renderMatrix('text', m, m.cells.map((cell) => ({ cell, file: null, trace: null })), { elapsedMs: Math.max(0, c.finishedAtMs - c.createdAtMs), budget: { ...c.budget, shrinkRuns: 0 }, oracles: selectionText(ALL_ORACLES) }).trimEnd());
  } else {
    for (const x of c.cells) lines.push(`  ${x.scenario} × ${x.variant}: ${x.state}${x.campaigns.length ? ` (campaigns ${x.campaigns.join(', ')})` : ''}${x.error ? `: ${x.error}` : ''}`);
  }
  return terminalSafe(lines.join('\n'));
}
