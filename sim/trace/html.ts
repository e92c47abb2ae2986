import { oracleClass } from '../oracles/classes.ts';
import type { RunResult } from '../run.ts';
import { runOnce } from '../run.ts';
import type { Finding } from '../finding.ts';
import type { Violation } from '../oracles/violation.ts';
import type { TraceRow } from './row.ts';
import { StateRecorder, type StateSnapshot } from './state.ts';
import { compileScenario } from '../scenario/compile.ts';
import { parseVariantJson } from '../variants/resolve.ts';
import { ReplayChooser } from '../schedule/replay.ts';
import { SIM_VERSION } from '../version.ts';

/**
 * The HTML trace (`repro --html`): one standalone page, no network, no external assets. A sequence
 * diagram with one lane per thread and one row per step (kernel function, page, effects); the
 * violating step is highlighted (class `violation`, id `violation`) with the oracle's explanation,
 * the steps named as participants are outlined (class `participant`), and hovering or clicking a
 * step shows the page table, the TLB / IOTLB / ATC / spte entries and the frames after that step
 * (stale entries marked), from the per-step snapshots of StateRecorder.
 */

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON that is safe inside a <script> element. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** The trace rows that took part: the last step before the violation with each participant label (same page). */
function participantSteps(rows: readonly TraceRow[], v: Violation): Set<number> {
  const out = new Set<number>();
  const limit = v.thread >= 0 ? v.step : rows.length;
  for (const label of v.participants.slice(v.thread >= 0 ? 1 : 0)) {
    for (let i = Math.min(limit, rows.length) - 1; i >= 0; i--) {
      const r = rows[i];
      if (r.label === label && (v.page === '' || r.page === v.page || r.page === '') && r.step !== v.step) {
        out.add(r.step);
        break;
      }
    }
  }
  return out;
}

const CSS = `
:root{--lane:#c8ced6;--viol:#ffe3e3;--violb:#d63031;--part:#e17055;--sel:#0984e3;--stale:#d63031;--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
*{box-sizing:border-box}
body{margin:0;font:13px/1.35 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1e272e;background:#fafbfc}
header{padding:12px 16px;border-bottom:1px solid #dfe4ea;background:#fff}
h1{font-size:18px;margin:0 0 6px}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:6px 0}
dl.meta dt{color:#57606f}dl.meta dd{margin:0;font-family:var(--mono)}
.verdict{border-left:4px solid var(--violb);background:var(--viol);padding:8px 10px;margin-top:8px}
.verdict a{color:var(--violb);font-weight:600}
main{display:grid;grid-template-columns:minmax(0,1fr) 420px;gap:0;align-items:start}
.diagram{overflow-x:auto;padding:0 8px 40px}
table.seq{border-collapse:separate;border-spacing:0;width:100%;table-layout:fixed}
table.seq th{position:sticky;top:0;background:#fff;z-index:2;border-bottom:2px solid #57606f;padding:6px 4px;font-family:var(--mono);font-size:12px}
table.seq td{padding:2px 4px;vertical-align:top}
td.n{width:46px;text-align:right;color:#8395a7;font-family:var(--mono);font-size:11px;padding-top:6px}
th.n{width:46px}
td.lane{position:relative}
td.lane::before{content:"";position:absolute;left:50%;top:0;bottom:0;border-left:1px dashed var(--lane);z-index:0}
.box{position:relative;z-index:1;background:#fff;border:1px solid #b2bec3;border-radius:4px;padding:3px 6px;cursor:pointer}
.box .fn{font-family:var(--mono);font-size:12px;font-weight:600;word-break:break-word}
.box .pg{color:#6c5ce7;font-family:var(--mono);font-size:11px;margin-left:4px}
.box .eff{font-family:var(--mono);font-size:11px;color:#57606f;word-break:break-word}
tr.step:hover .box{border-color:var(--sel)}
tr.step.selected td{background:#eaf4fd}
tr.step.selected .box{outline:2px solid var(--sel)}
tr.violation td,tr.violation.selected td{background:var(--viol)}
tr.violation .box{border:2px solid var(--violb);box-shadow:0 0 0 3px rgba(214,48,49,.15)}
.tag{display:inline-block;background:var(--violb);color:#fff;border-radius:3px;padding:0 5px;font-size:11px;font-weight:700;margin-bottom:2px}
tr.participant .box{border:2px dashed var(--part)}
.ptag{display:inline-block;background:var(--part);color:#fff;border-radius:3px;padding:0 5px;font-size:10px;margin-bottom:2px}
aside{position:sticky;top:0;max-height:100vh;overflow:auto;border-left:1px solid #dfe4ea;background:#fff;padding:10px 12px}
aside h2{font-size:14px;margin:0 0 6px}
aside .hint{color:#8395a7;font-size:11px;margin-bottom:8px}
aside table{border-collapse:collapse;width:100%;margin-bottom:10px;font-family:var(--mono);font-size:11px}
aside th,aside td{border:1px solid #dfe4ea;padding:2px 4px;text-align:left;vertical-align:top}
aside th{background:#f1f2f6}
.stale{color:var(--stale);font-weight:700}
.perm{color:#e17055;font-weight:700}
.changed{background:#fff3bf}
ul.other{margin:0;padding-left:16px;font-family:var(--mono);font-size:11px}
.endrow td{background:var(--viol);font-weight:600}
noscript{display:block;padding:8px;color:#57606f}
`;

const JS = `
(function(){
  var data = JSON.parse(document.getElementById('racefarm-data').textContent);
  var panel = document.getElementById('state-body');
  var title = document.getElementById('state-title');
  var rows = Array.prototype.slice.call(document.querySelectorAll('tr.step'));
  var byStep = {};
  rows.forEach(function(r){ byStep[r.getAttribute('data-step')] = r; });
  var pinned = data.violationStep;
  function esc(s){ return String(s).replace(/[&<>"']/g, function(c){ return {'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]; }); }
  function pageKey(p){ return JSON.stringify(p); }
  function render(step){
    var states = data.states;
    rows.forEach(function(r){ r.classList.toggle('selected', step !== null && r.getAttribute('data-step') === String(step)); });
    if (!states || states.length === 0) { panel.innerHTML = '<p class="hint">No state snapshots in this file.</p>'; return; }
    var idx = step === null ? 0 : Math.min(step + 1, states.length - 1);
    var s = states[idx];
    var prev = idx > 0 ? states[idx - 1] : null;
    title.textContent = step === null ? 'Initial state' : 'State after step ' + step + (data.threads[data.rowThread[step]] !== undefined ? ' (' + data.threads[data.rowThread[step]] + ')' : '');
    var h = '<table><tr><th>page</th><th>PTE</th><th>window</th><th>PT lock</th><th>cached translations</th></tr>';
    s.pages.forEach(function(p, i){
      var changed = prev && pageKey(prev.pages[i]) !== pageKey(p);
      var c = p.cached.map(function(e){
        var cls = e.stale ? 'stale' : e.overPermissive ? 'perm' : '';
        var note = e.stale ? ' STALE' : e.overPermissive ? ' writable over read-only PTE' : '';
        return '<div class="' + cls + '">' + esc(e.cache) + ' → frame ' + e.frame + ' g' + e.gen + ' ' + (e.write ? 'rw' : 'ro') + esc(note) + '</div>';
      }).join('') || '—';
      h += '<tr' + (changed ? ' class="changed"' : '') + '><td>' + esc(p.name) + '</td><td>' + esc(p.pte) + '</td><td>' + (p.windows > 0 ? 'open ×' + p.windows : '—') + '</td><td>' + (p.ptl === null ? '—' : esc(p.ptl)) + '</td><td>' + c + '</td></tr>';
    });
    h += '</table><table><tr><th>frame</th><th>page</th><th>gen</th><th>ref</th><th>map</th><th>cells</th></tr>';
    s.frames.forEach(function(f){
      h += '<tr' + (f.free ? ' class="stale"' : '') + '><td>' + f.frame + (f.free ? ' (free)' : '') + '</td><td>' + esc(f.owner) + '</td><td>' + f.gen + '</td><td>' + f.refcount + '</td><td>' + f.mapcount + '</td><td>' + esc(f.cells.join(' ')) + (f.dirty ? ' D' : '') + '</td></tr>';
    });
    h += '</table><ul class="other">' + s.other.map(function(o){ return '<li>' + esc(o) + '</li>'; }).join('') + '</ul>';
    panel.innerHTML = h;
  }
  rows.forEach(function(r){
    var step = Number(r.getAttribute('data-step'));
    r.addEventListener('mouseenter', function(){ if (pinned === null) render(step); });
    r.addEventListener('click', function(){ pinned = pinned === step ? null : step; render(step); });
  });
  document.addEventListener('keydown', function(e){
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp' && e.key !== 'j' && e.key !== 'k') return;
    var cur = pinned === null ? -1 : pinned;
    var next = (e.key === 'ArrowDown' || e.key === 'j') ? Math.min(cur + 1, data.rowThread.length - 1) : Math.max(cur - 1, 0);
    pinned = next; render(next);
    var r = byStep[String(next)]; if (r && r.scrollIntoView) r.scrollIntoView({block: 'nearest'});
    e.preventDefault();
  });
  render(pinned);
  document.body.setAttribute('data-ready', '1');
})();
`;

export interface HtmlOptions {
  /** Per-step snapshots (StateRecorder.states: initial state, then one per step). */
  readonly states?: readonly StateSnapshot[];
  /** Show threads that never ran a step (default: hidden, like an idle IOMMU fault worker). */
  readonly showIdle?: boolean;
  /**
   * Markup placed first in the body, already escaped by the caller: the coordinator's web view puts
   * its navigation and download links there (coordinator/web/findingPage.ts).
   */
  readonly banner?: string;
}

/**
 * Renders a traced run (runOnce with `trace: true`) as a standalone HTML page. `finding` supplies
 * the header (scenario, variant, oracle, signature) and which violation to highlight; without it
 * every violation of the run is highlighted.
 */
export function renderHtml(run: RunResult, finding: Finding | null, opts: HtmlOptions = {}): string {
  const rows = run.trace ?? [];
  const names = run.threadNames;
  const used = new Set(rows.map((r) => r.thread));
  const lanes = names.map((n, i) => ({ n, i })).filter((l) => opts.showIdle === true || used.has(l.i));
  const violations = finding !== null ? run.violations.filter((v) => v.oracle === finding.oracle) : [...run.violations];
  const main = violations[0] ?? null;
  const violStep = new Map<number, Violation[]>();
  for (const v of violations) if (v.thread >= 0) violStep.set(v.step, [...(violStep.get(v.step) ?? []), v]);
  const parts = main !== null ? participantSteps(rows, main) : new Set<number>();

  const out: string[] = [];
  const title = finding !== null ? `${finding.oracle} in ${finding.scenario.name} (${finding.variant.name})` : `racefarm trace`;
  out.push('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">');
  out.push('<meta name="viewport" content="width=device-width, initial-scale=1">');
  out.push(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">`);
  out.push(`<title>${escapeHtml(title)}</title><style>${CSS}</style></head><body>${opts.banner ?? ''}`);
  out.push('<header>');
  out.push(`<h1>${escapeHtml(title)}</h1>`);
  if (finding !== null) {
    const meta: [string, string][] = [
      ['scenario', finding.scenario.name],
      ['variant', finding.variant.name],
      ['oracle', finding.oracle],
      ['class', oracleClass(finding.oracle)],
      ['signature', finding.signature],
      ['participants', finding.participants.join(' · ')],
      ['strategy / seed', `${finding.strategy.name} / ${finding.seed}`],
      ['steps', String(run.steps)],
      ['simulator', `${finding.simVersion}${finding.simVersion !== SIM_VERSION ? ` (this is ${SIM_VERSION})` : ''}`],
    ];
    out.push('<dl class="meta">' + meta.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('') + '</dl>');
  }
  for (const v of violations) {
    const where = v.thread >= 0 ? `step ${v.step} (${names[v.thread]}: ${v.label})` : `end of run (${v.step} steps)`;
    const link = v.thread >= 0 && v === main ? ` — <a href="#violation">go to step ${v.step}</a>` : '';
    out.push(`<div class="verdict" data-class="${oracleClass(v.oracle)}"><strong>${escapeHtml(v.oracle)}</strong> <span class="cls">(${oracleClass(v.oracle)})</span> at ${escapeHtml(where)}${link}<br>${escapeHtml(v.message)}</div>`);
  }
  if (violations.length === 0) out.push('<div class="verdict">No violation in this run.</div>');
  out.push('</header><main><div class="diagram">');
  out.push('<table class="seq"><thead><tr><th class="n">step</th>');
  for (const l of lanes) out.push(`<th>${escapeHtml(l.n)}</th>`);
  out.push('</tr></thead><tbody>');
  for (const r of rows) {
    const vs = violStep.get(r.step);
    const cls = ['step'];
    if (vs !== undefined) cls.push('violation');
    if (parts.has(r.step)) cls.push('participant');
    const id = vs !== undefined && main !== null && vs.includes(main) ? ' id="violation"' : '';
    const oracleAttr = vs !== undefined ? ` data-oracle="${escapeHtml(vs.map((v) => v.oracle).join(' '))}"` : '';
    out.push(`<tr class="${cls.join(' ')}"${id} data-step="${r.step}"${oracleAttr}><td class="n">${r.step}</td>`);
    for (const l of lanes) {
      if (l.i !== r.thread) {
        out.push('<td class="lane"></td>');
        continue;
      }
      const tags = (vs ?? []).map((v) => `<span class="tag">⚠ ${escapeHtml(v.oracle)}</span> `).join('') + (parts.has(r.step) ? '<span class="ptag">participant</span>' : '');
      const page = r.page ? `<span class="pg">[${escapeHtml(r.page)}]</span>` : '';
      const eff = r.effects ? `<div class="eff">${escapeHtml(r.effects)}</div>` : '';
      out.push(`<td class="lane"><div class="box">${tags ? `<div>${tags}</div>` : ''}<span class="fn">${escapeHtml(r.label)}</span>${page}${eff}</div></td>`);
    }
    out.push('</tr>');
  }
  for (const v of violations) {
    if (v.thread >= 0) continue;
    out.push(`<tr class="endrow violation"${v === main ? ' id="violation"' : ''} data-oracle="${escapeHtml(v.oracle)}"><td class="n">end</td><td colspan="${lanes.length}"><span class="tag">⚠ ${escapeHtml(v.oracle)}</span> ${escapeHtml(v.message)}</td></tr>`);
  }
  out.push('</tbody></table></div>');
  out.push('<aside><h2 id="state-title">State</h2><div class="hint">Hover a step to see the page table, TLBs, IOTLB/ATC and frames after it; click to pin (↑/↓ to move).</div>');
  out.push('<noscript>The state panel needs JavaScript.</noscript><div id="state-body"></div></aside></main>');
  const data = {
    threads: names,
    rowThread: rows.map((r) => r.thread),
    violationStep: main !== null && main.thread >= 0 ? main.step : null,
    states: opts.states ?? null,
  };
  out.push(`<script type="application/json" id="racefarm-data">${scriptJson(data)}</script>`);
  out.push(`<script>${JS}</script></body></html>`);
  return out.join('\n');
}

export type HtmlReplay =
  | { readonly reproduced: true; readonly html: string; readonly run: RunResult }
  | { readonly reproduced: false; readonly reason: string; readonly html: string | null };

/**
 * Replays a finding with tracing and state snapshots and renders it. Like replayFinding, it refuses
 * a finding of another simulator version; when the oracle does not fire the page is still rendered
 * (it shows the run as it went) and `reproduced` is false.
 */
export function renderFindingHtml(f: Finding, opts: Pick<HtmlOptions, 'banner'> = {}): HtmlReplay {
  if (f.simVersion !== SIM_VERSION) {
    return { reproduced: false, reason: `simulator version mismatch: the finding was made by ${f.simVersion}, this is ${SIM_VERSION}`, html: null };
  }
  const sc = compileScenario(f.scenario);
  const variant = parseVariantJson({ sites: f.variant.sites, name: f.variant.name }, f.variant.name);
  const rec = new StateRecorder();
  const run = runOnce(sc, variant.sites, new ReplayChooser(f.decisions), { trace: true, observer: rec });
  const html = renderHtml(run, f, { states: rec.states, banner: opts.banner });
  if (!run.violations.some((v) => v.oracle === f.oracle)) {
    const got = run.violations.map((x) => x.oracle).join(', ') || 'none';
    return { reproduced: false, reason: `the oracle ${f.oracle} did not fire (oracles that fired: ${got})`, html };
  }
  return { reproduced: true, html, run };
}
