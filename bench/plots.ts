import { writeFileSync } from 'node:fs';
import type { BenchResults } from './results.ts';
import { FIRST_FINDING_STRATEGIES } from './firstFinding.ts';
import type { CoverageRow } from './coverage.ts';

/** Hand-written SVG (no network, no plotting library): bars, lines, axes and labels. */

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const f1 = (n: number) => (Math.round(n * 10) / 10).toString();

const COLORS: Record<string, string> = {
  random: '#4e79a7',
  'pct-1': '#b6992d',
  'pct-2': '#f28e2b',
  'pct-3': '#e15759',
  pct: '#e15759',
  coverage: '#59a14f',
  'exhaustive-2': '#76b7b2',
  'fast-check': '#af7aa1',
};

function svg(width: number, height: number, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

const text = (x: number, y: number, s: string, attrs = '') => `<text x="${f1(x)}" y="${f1(y)}" ${attrs}>${esc(s)}</text>`;

/**
 * (a) Time to first finding, schedules on a log scale: per race a group of bars, one per strategy
 * (median), with a whisker from min to max; a search set that never found the race within its cap
 * is a hatched bar to the cap marked "none ≤ cap"; a median beyond the cap (found in under half of the
 * searches) is a hatched bar to the cap marked "> cap".
 */
export function firstFindingSvg(r: BenchResults): string {
  const races = [...new Set(r.firstFinding.map((f) => f.scenario))];
  const strategies = [...FIRST_FINDING_STRATEGIES] as string[];
  const fc = r.fastCheck;
  const bar = 11;
  const gap = 12;
  const groupH = strategies.length * bar + (fc ? bar : 0) + gap;
  const left = 190;
  const plotW = 600;
  const top = 62;
  const width = left + plotW + 150;
  const height = top + races.length * groupH + 50;
  const maxCap = Math.max(10, ...r.firstFinding.map((f) => f.cap), fc ? fc.cap : 0);
  const decades = Math.ceil(Math.log10(maxCap));
  // The axis starts at 0.5 so that a median of 1 schedule still shows as a bar.
  const lo = Math.log10(0.5);
  const x = (v: number) => left + ((Math.log10(Math.max(0.5, v)) - lo) / (decades - lo)) * plotW;
  const body: string[] = [];
  body.push(
    `<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#eeeeee"/><line x1="0" y1="0" x2="0" y2="6" stroke="#999" stroke-width="2"/></pattern></defs>`,
  );
  body.push(text(left, 18, `Time to first finding: schedules (log scale), median with min–max over ${r.settings.campaigns} campaign seeds`, 'font-size="13" font-weight="bold"'));
  body.push(
    text(
      left,
      34,
      `${r.machine.cpu}, node ${r.machine.node}; cap ${(r.settings.firstFindingCap ?? 0).toLocaleString('en-US')} schedules per search${r.quick ? ' (--quick)' : ''}; exhaustive-2 (bound 2, POR) is deterministic: one search`,
      'fill="#555"',
    ),
  );
  // Legend.
  const legend = fc ? [...strategies, 'fast-check'] : strategies;
  legend.forEach((s, i) => {
    const lx = left + i * 95;
    body.push(`<rect x="${lx}" y="42" width="10" height="10" fill="${COLORS[s]}"/>`);
    body.push(text(lx + 14, 51, s === 'fast-check' ? 'fc.scheduler' : s));
  });
  // Grid and axis.
  for (let d = 0; d <= decades; d++) {
    const gx = x(10 ** d);
    body.push(`<line x1="${f1(gx)}" y1="${top - 4}" x2="${f1(gx)}" y2="${height - 40}" stroke="#ddd"/>`);
    body.push(text(gx, height - 26, (10 ** d).toLocaleString('en-US'), 'text-anchor="middle" fill="#333"'));
  }
  body.push(text(left + plotW / 2, height - 8, 'schedules to the first finding (runs, for fc.scheduler)', 'text-anchor="middle"'));
  races.forEach((race, gi) => {
    const gy = top + gi * groupH;
    if (gi % 2 === 1) body.push(`<rect x="0" y="${gy - gap / 2}" width="${width}" height="${groupH}" fill="#f7f7f7"/>`);
    body.push(text(left - 8, gy + (groupH - gap) / 2 + 4, race, 'text-anchor="end" font-weight="bold"'));
    const rows: { s: string; median: number | null; min: number | null; max: number | null; found: number; cap: number }[] = strategies.map((s) => {
      const row = r.firstFinding.find((f) => f.scenario === race && f.strategy === s);
      return row
        ? { s, median: row.schedules.median, min: row.schedules.min, max: row.schedules.max, found: row.schedules.found, cap: row.cap }
        : { s, median: null, min: null, max: null, found: -1, cap: 0 };
    });
    if (fc && race === 'cow-two-pages') rows.push({ s: 'fast-check', median: fc.runs.median, min: fc.runs.min, max: fc.runs.max, found: fc.runs.found, cap: fc.cap });
    rows.forEach((b, i) => {
      const by = gy + i * bar;
      if (b.found < 0) return;
      if (b.median === null) {
        body.push(`<rect x="${left}" y="${by}" width="${f1(x(b.cap) - left)}" height="${bar - 2}" fill="url(#hatch)" stroke="${COLORS[b.s]}"/>`);
        body.push(text(x(b.cap) + 4, by + bar - 3, b.found === 0 ? `${b.s}: none ≤ ${b.cap.toLocaleString('en-US')}` : `${b.s}: > cap (${b.found} found)`, 'font-size="9" fill="#444"'));
      } else {
        body.push(`<rect x="${left}" y="${by}" width="${f1(Math.max(1.5, x(b.median) - left))}" height="${bar - 2}" fill="${COLORS[b.s]}"/>`);
        if (b.min !== null && b.max !== null && b.max > b.min) {
          const cy = by + (bar - 2) / 2;
          body.push(`<line x1="${f1(x(b.min))}" y1="${f1(cy)}" x2="${f1(x(b.max))}" y2="${f1(cy)}" stroke="#222" stroke-width="1"/>`);
          body.push(`<line x1="${f1(x(b.min))}" y1="${f1(cy - 3)}" x2="${f1(x(b.min))}" y2="${f1(cy + 3)}" stroke="#222"/>`);
          body.push(`<line x1="${f1(x(b.max))}" y1="${f1(cy - 3)}" x2="${f1(x(b.max))}" y2="${f1(cy + 3)}" stroke="#222"/>`);
        }
        const tx = Math.max(x(b.median), b.max !== null ? x(b.max) : 0) + 4;
        body.push(text(tx, by + bar - 3, `${Math.round(b.median).toLocaleString('en-US')}${b.found < (b.s === 'exhaustive-2' ? 1 : r.settings.campaigns ?? 0) ? ` (${b.found} found)` : ''}`, 'font-size="9" fill="#444"'));
      }
    });
  });
  return svg(width, height, body);
}

/**
 * (b) Coverage over schedules: small multiples, one panel per scenario (its buggy preset) plus the
 * sum over all of them, each with one line per strategy.
 */
export function coverageSvg(r: BenchResults): string {
  const rows = r.coverage;
  const strategies = [...new Set(rows.map((c) => c.strategy))];
  const races = [...new Set(rows.map((c) => c.scenario))];
  const panels: { title: string; lines: { s: string; xs: number[]; ys: number[] }[] }[] = [];
  const sumLines = strategies.map((s) => {
    const rs = rows.filter((c) => c.strategy === s);
    const xs = rs[0]?.curveAt ?? [];
    return { s, xs, ys: xs.map((_, i) => rs.reduce((a, c) => a + (c.curve[i] ?? c.curve[c.curve.length - 1] ?? 0), 0)) };
  });
  panels.push({ title: 'all scenarios (sum)', lines: sumLines });
  for (const race of races) {
    panels.push({
      title: race,
      lines: strategies.map((s) => {
        const c = rows.find((x) => x.scenario === race && x.strategy === s) as CoverageRow | undefined;
        return { s, xs: c?.curveAt ?? [], ys: c?.curve ?? [] };
      }),
    });
  }
  const cols = 4;
  const pw = 250;
  const ph = 170;
  const padL = 44;
  const padB = 28;
  const top = 58;
  const width = cols * (pw + 20) + 20;
  const height = top + Math.ceil(panels.length / cols) * (ph + 30) + 10;
  const body: string[] = [];
  body.push(text(20, 20, `Coverage features over schedules (buggy presets; pct at depth 3)`, 'font-size="13" font-weight="bold"'));
  body.push(text(20, 36, `${r.machine.cpu}, node ${r.machine.node}, ${r.settings.coverageSchedules?.toLocaleString('en-US')} schedules per strategy and scenario`, 'fill="#555"'));
  strategies.forEach((s, i) => {
    const lx = 20 + i * 100;
    body.push(`<line x1="${lx}" y1="47" x2="${lx + 16}" y2="47" stroke="${COLORS[s] ?? '#000'}" stroke-width="2.5"/>`);
    body.push(text(lx + 20, 51, s));
  });
  panels.forEach((p, i) => {
    const ox = 20 + (i % cols) * (pw + 20);
    const oy = top + Math.floor(i / cols) * (ph + 30);
    const iw = pw - padL - 8;
    const ih = ph - padB - 18;
    const maxX = Math.max(1, ...p.lines.flatMap((l) => l.xs));
    const maxY = Math.max(1, ...p.lines.flatMap((l) => l.ys));
    const niceY = niceCeil(maxY);
    const X = (v: number) => ox + padL + (v / maxX) * iw;
    const Y = (v: number) => oy + 18 + ih - (v / niceY) * ih;
    body.push(text(ox + padL, oy + 12, p.title, 'font-weight="bold"'));
    body.push(`<rect x="${ox + padL}" y="${oy + 18}" width="${iw}" height="${ih}" fill="none" stroke="#bbb"/>`);
    for (let t = 0; t <= 4; t++) {
      const v = (niceY * t) / 4;
      body.push(`<line x1="${ox + padL - 3}" y1="${f1(Y(v))}" x2="${ox + padL + iw}" y2="${f1(Y(v))}" stroke="#eee"/>`);
      body.push(text(ox + padL - 5, Y(v) + 4, Number.isInteger(v) ? String(v) : v.toFixed(1), 'text-anchor="end" font-size="9"'));
    }
    for (let t = 0; t <= 2; t++) {
      const v = (maxX * t) / 2;
      body.push(text(X(v), oy + 18 + ih + 12, Math.round(v).toLocaleString('en-US'), 'text-anchor="middle" font-size="9"'));
    }
    if (i === 0) {
      body.push(text(ox + padL + iw / 2, oy + 18 + ih + 24, 'schedules', 'text-anchor="middle" font-size="9" fill="#555"'));
      body.push(text(ox + 10, oy + 18 + ih / 2, 'features', `text-anchor="middle" font-size="9" fill="#555" transform="rotate(-90 ${ox + 10} ${oy + 18 + ih / 2})"`));
    }
    for (const l of p.lines) {
      if (l.xs.length === 0) continue;
      const pts = [`${f1(X(0))},${f1(Y(0))}`, ...l.xs.map((xv, j) => `${f1(X(xv))},${f1(Y(l.ys[j]))}`)].join(' ');
      body.push(`<polyline points="${pts}" fill="none" stroke="${COLORS[l.s] ?? '#000'}" stroke-width="1.8"/>`);
    }
  });
  return svg(width, height, body);
}

function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** Writes the plots into `dir`; returns their file names. */
export function writePlots(r: BenchResults, dir: string): string[] {
  const files: string[] = [];
  if (r.firstFinding.length > 0) {
    writeFileSync(`${dir}/first-finding.svg`, firstFindingSvg(r));
    files.push('first-finding.svg');
  }
  if (r.coverage.length > 0) {
    writeFileSync(`${dir}/coverage.svg`, coverageSvg(r));
    files.push('coverage.svg');
  }
  return files;
}
