import type { CellBudget, CellResult } from '../sim/compare/cell.ts';
import type { Matrix } from '../sim/compare/matrix.ts';
import { escapeHtml } from '../sim/trace/html.ts';
import { fmtInt, table } from './format.ts';

/** The output formats of `racefarm compare`. */
export const COMPARE_FORMATS = ['text', 'markdown', 'html', 'json'] as const;
export type CompareFormat = (typeof COMPARE_FORMATS)[number];

/** A cell with the finding file written for it (and its HTML trace page, for --format html). */
export interface WrittenCell {
  readonly cell: CellResult;
  readonly file: string | null;
  readonly trace: string | null;
}

export interface RenderContext {
  readonly elapsedMs: number;
  readonly budget: CellBudget;
  readonly oracles: string;
}

/** The JSON of one cell: exactly these fields, null where they do not apply. */
export interface CellJson {
  readonly scenario: string;
  readonly variant: string;
  readonly kind: CellResult['kind'];
  readonly oracle: string | null;
  readonly class: string | null;
  readonly signature: string | null;
  readonly file: string | null;
  readonly schedules: number;
  readonly bound: number;
  readonly complete: boolean;
}

export function cellJson(w: WrittenCell): CellJson {
  const c = w.cell;
  return {
    scenario: c.scenario,
    variant: c.variant,
    kind: c.kind,
    oracle: c.oracle,
    class: c.class,
    signature: c.signature,
    file: w.file,
    schedules: c.schedules,
    bound: c.bound,
    complete: c.complete,
  };
}

/** A cell in words, the same in every format: what it found, or how far it looked. */
export function cellText(c: CellResult): string {
  switch (c.kind) {
    case 'race':
      return `${c.oracle} race (${c.steps} steps)`;
    case 'invariant':
      return `invariant only: ${c.oracle}`;
    case 'certified':
      return `certified clean, K=${c.bound} (${fmtInt(c.schedules)} schedule${c.schedules === 1 ? "" : "s"})`;
    case 'clean':
      return `clean in ${fmtInt(c.seeds)} seeds (not certified)`;
  }
}

/** A short cell for the text grid. */
function cellShort(c: CellResult): string {
  switch (c.kind) {
    case 'race':
      return `RACE ${c.oracle} (${c.steps})`;
    case 'invariant':
      return `inv ${c.oracle}`;
    case 'certified':
      return `certified (${fmtInt(c.schedules)})`;
    case 'clean':
      return `clean ${fmtInt(c.seeds)} seeds`;
  }
}

function grid(m: Matrix, written: readonly WrittenCell[]): WrittenCell[][] {
  return m.scenarios.map((_, s) => written.slice(s * m.variants.length, (s + 1) * m.variants.length));
}

function budgetLine(ctx: RenderContext): string {
  const b = ctx.budget;
  return (
    `each cell: exhaustive search up to K=${b.bound} preemptions within ${fmtInt(b.maxSchedules)} executions; ` +
    `if incomplete, random and pct (depth ${b.pctDepth}) seeds [0, ${fmtInt(b.seeds)}) each; oracles ${ctx.oracles}`
  );
}

function findingsList(written: readonly WrittenCell[]): WrittenCell[] {
  return written.filter((w) => w.file !== null);
}

function renderText(m: Matrix, written: readonly WrittenCell[], ctx: RenderContext): string {
  const rows = grid(m, written).map((r, s) => [m.scenarios[s], ...r.map((w) => cellShort(w.cell))]);
  const lines = [table(['scenario', ...m.variants], rows), '', budgetLine(ctx)];
  const fs = findingsList(written);
  if (fs.length > 0) {
    lines.push('', 'findings (shrunk):');
    lines.push(
      table(
        ['scenario', 'variant', 'kind', 'oracle', 'steps', 'signature', 'file'],
        fs.map((w) => [w.cell.scenario, w.cell.variant, w.cell.kind, w.cell.oracle ?? '', `${w.cell.stepsBefore} → ${w.cell.steps}`, w.cell.signature ?? '', w.file ?? '']),
      ),
    );
  }
  lines.push('', `elapsed ${(ctx.elapsedMs / 1000).toFixed(1)} s`);
  return lines.join('\n') + '\n';
}

/** Markdown table cells cannot hold a raw `|`. */
function md(s: string): string {
  return s.replace(/\|/g, '\\|');
}

function renderMarkdown(m: Matrix, written: readonly WrittenCell[], ctx: RenderContext): string {
  const out: string[] = [];
  out.push(`| scenario | ${m.variants.map(md).join(' | ')} |`);
  out.push(`| --- | ${m.variants.map(() => '---').join(' | ')} |`);
  for (const [s, r] of grid(m, written).entries()) {
    const cells = r.map((w) => (w.cell.kind === 'race' ? `**${md(cellText(w.cell))}**` : md(cellText(w.cell))));
    out.push(`| ${md(m.scenarios[s])} | ${cells.join(' | ')} |`);
  }
  out.push('', md(budgetLine(ctx)) + '.');
  const fs = findingsList(written);
  if (fs.length > 0) {
    out.push('', '| scenario | variant | kind | oracle | steps (shrunk) | signature | file |', '| --- | --- | --- | --- | --- | --- | --- |');
    for (const w of fs) {
      const c = w.cell;
      out.push(`| ${md(c.scenario)} | ${md(c.variant)} | ${c.kind} | ${c.oracle} | ${c.stepsBefore} → ${c.steps} | \`${c.signature}\` | \`${md(w.file ?? '')}\` |`);
    }
  }
  return out.join('\n') + '\n';
}

const CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.35em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.race{background:#fde2e1}td.invariant{background:#fff4d6}td.certified{background:#e3f4e1}td.clean{background:#eef3f8}
.small{color:#555;font-size:12px}code{font-size:12px}
`;

function renderHtmlPage(m: Matrix, written: readonly WrittenCell[], ctx: RenderContext): string {
  const out: string[] = [];
  out.push('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">');
  out.push('<meta name="viewport" content="width=device-width, initial-scale=1">');
  out.push(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`);
  out.push(`<title>racefarm compare: ${m.scenarios.length} scenarios × ${m.variants.length} variants</title><style>${CSS}</style></head><body>`);
  out.push(`<h1>racefarm compare</h1><p class="small">${escapeHtml(budgetLine(ctx))}. Each race links to its trace.</p>`);
  out.push('<table id="matrix"><thead><tr><th>scenario</th>');
  for (const v of m.variants) out.push(`<th>${escapeHtml(v)}</th>`);
  out.push('</tr></thead><tbody>');
  for (const [s, r] of grid(m, written).entries()) {
    out.push(`<tr><th>${escapeHtml(m.scenarios[s])}</th>`);
    for (const w of r) {
      const c = w.cell;
      const attrs = `class="${c.kind}" data-scenario="${escapeHtml(c.scenario)}" data-variant="${escapeHtml(c.variant)}" data-kind="${c.kind}"` + (c.oracle ? ` data-oracle="${escapeHtml(c.oracle)}"` : '');
      const text = escapeHtml(cellText(c));
      const body = w.trace !== null ? `<a href="${escapeHtml(w.trace)}">${text}</a>` : text;
      const sig = c.signature !== null ? `<div class="small"><code>${escapeHtml(c.signature)}</code></div>` : '';
      out.push(`<td ${attrs}>${body}${sig}</td>`);
    }
    out.push('</tr>');
  }
  out.push('</tbody></table>');
  out.push(`<p class="small">race: an observable oracle fired · invariant only: the protocol's rule broke, nothing observable followed · certified: every schedule within K preemptions is clean · clean in N seeds: the search did not finish, the seeds found nothing. Elapsed ${(ctx.elapsedMs / 1000).toFixed(1)} s.</p>`);
  out.push('</body></html>');
  return out.join('\n') + '\n';
}

export function renderMatrix(format: CompareFormat, m: Matrix, written: readonly WrittenCell[], ctx: RenderContext): string {
  switch (format) {
    case 'json':
      return JSON.stringify({ cells: written.map(cellJson), elapsedMs: ctx.elapsedMs }) + '\n';
    case 'markdown':
      return renderMarkdown(m, written, ctx);
    case 'html':
      return renderHtmlPage(m, written, ctx);
    case 'text':
      return renderText(m, written, ctx);
  }
}
