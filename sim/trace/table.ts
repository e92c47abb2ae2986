import { oracleClass } from '../oracles/classes.ts';
import type { TraceRow } from './row.ts';
import type { Violation } from '../oracles/violation.ts';

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of para.split(' ')) {
      if (line.length === 0) line = word;
      else if (line.length + 1 + word.length <= width) line += ` ${word}`;
      else {
        out.push(line);
        line = word;
      }
      while (line.length > width) {
        out.push(line.slice(0, width));
        line = line.slice(width);
      }
    }
    out.push(line);
  }
  return out;
}

export interface TableOptions {
  /** Column width per thread. */
  readonly width?: number;
  /** Leave out threads that never ran a step (e.g. an idle IOMMU fault worker). */
  readonly hideIdle?: boolean;
  /**
   * Longest trace shown whole (default MAX_TABLE_ROWS, fewer for wide tables: MAX_TABLE_CHARS). A longer one (a 1e6-step livelock) keeps its
   * first and last half of that, and the rows around each violating step; each gap is one line that
   * says how many steps it leaves out. Without a bound the table of a 1e6-step run is a string
   * longer than V8 allows.
   */
  readonly maxRows?: number;
}

export const MAX_TABLE_ROWS = 2000;
/**
 * Characters a default-bounded table aims to stay under: with many threads a row is wide (a
 * livelock of eight devices and their PRI fault workers has 20 columns, ~800 characters a line),
 * so a bound in rows alone is not a bound in size. The rows kept shrink with the line width.
 */
export const MAX_TABLE_CHARS = 1_500_000;
/** Lines a row takes on average once its cell is wrapped (an estimate, so the bound has slack). */
const LINES_PER_ROW = 2;
/** Rows kept before and after a violating step inside an elided stretch. */
const CONTEXT_ROWS = 3;

/** Indices of the rows a table shows (all of them when there are at most maxRows). */
function shownRows(rows: readonly TraceRow[], marked: ReadonlySet<number>, maxRows: number): number[] {
  const n = rows.length;
  if (n <= maxRows) return rows.map((_, i) => i);
  const keep = new Set<number>();
  const head = Math.ceil(maxRows / 2);
  for (let i = 0; i < head; i++) keep.add(i);
  for (let i = n - (maxRows - head); i < n; i++) keep.add(i);
  let extra = 0;
  for (let i = head; i < n - (maxRows - head) && extra < maxRows; i++) {
    if (!marked.has(rows[i].step)) continue;
    for (let j = Math.max(0, i - CONTEXT_ROWS); j <= Math.min(n - 1, i + CONTEXT_ROWS); j++) keep.add(j);
    extra += 2 * CONTEXT_ROWS + 1;
  }
  return [...keep].sort((a, b) => a - b);
}

/**
 * The trace as a table in the style of Documentation/mm/mmu_notifier.rst (Documentation/vm/ in
 * older kernels): one column per thread, one row per step, each cell the kernel function and what
 * it changed. The violating steps are marked with `>>` and each oracle's explanation follows the
 * table.
 */
export function renderTable(
  rows: readonly TraceRow[],
  threadNames: readonly string[],
  violations: readonly Violation[],
  opts: TableOptions = {},
): string {
  const width = opts.width ?? 38;
  const used = new Set(rows.map((r) => r.thread));
  const cols = threadNames.map((n, i) => ({ name: n, id: i })).filter((c) => !opts.hideIdle || used.has(c.id));
  const marks = new Map<number, string[]>();
  for (const v of violations) {
    if (v.thread >= 0) marks.set(v.step, [...(marks.get(v.step) ?? []), v.oracle]);
  }
  const stepW = Math.max(4, String(rows.length).length + 3);
  const sep = '+' + '-'.repeat(stepW) + cols.map(() => '+' + '-'.repeat(width + 2)).join('') + '+';
  const lines: string[] = [sep];
  lines.push('|' + 'step'.padEnd(stepW) + cols.map((c) => '| ' + c.name.slice(0, width).padEnd(width) + ' ').join('') + '|');
  lines.push(sep.replace(/-/g, '='));
  const bySize = Math.max(100, Math.floor(MAX_TABLE_CHARS / (LINES_PER_ROW * (sep.length + 1))));
  const shown = shownRows(rows, new Set(marks.keys()), opts.maxRows ?? Math.min(MAX_TABLE_ROWS, bySize));
  let prev = -1;
  for (const idx of shown) {
    if (idx > prev + 1) {
      const from = rows[prev + 1].step;
      const to = rows[idx - 1].step;
      const gap = `… ${idx - prev - 1} steps elided (${from} to ${to}) of ${rows.length} …`;
      lines.push('|' + ''.padEnd(stepW) + '| ' + gap.padEnd(cols.length * (width + 3) - 3) + ' |');
    }
    prev = idx;
    const r = rows[idx];
    const head = `${r.label}${r.page ? ` [${r.page}]` : ''}`;
    const text = r.effects ? `${head}: ${r.effects}` : head;
    const cell = wrap(text, width);
    const mark = marks.has(r.step) ? '>>' : '';
    for (let i = 0; i < cell.length; i++) {
      const stepCol = i === 0 ? `${mark}${r.step}` : '';
      lines.push(
        '|' + stepCol.padEnd(stepW) + cols.map((c) => '| ' + (c.id === r.thread ? cell[i] : '').padEnd(width) + ' ').join('') + '|',
      );
    }
    if (marks.has(r.step)) lines.push('|' + ''.padEnd(stepW) + cols.map(() => '| ' + ''.padEnd(width) + ' ').join('') + '|');
  }
  lines.push(sep);
  if (shown.length < rows.length) lines.push(`(${rows.length} steps: ${rows.length - shown.length} left out of this table, see the elided lines; the finding file replays them all)`);
  for (const v of violations) {
    const where = v.thread >= 0 ? `step ${v.step} (${threadNames[v.thread]}: ${v.label})` : `end of run (${v.step} steps)`;
    lines.push(`>> ${v.oracle} (${oracleClass(v.oracle)}) at ${where}`);
    for (const l of wrap(v.message, 100)) lines.push(`   ${l}`);
  }
  return lines.join('\n');
}
