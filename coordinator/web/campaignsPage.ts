import { ORACLE_CLASSES } from '../../sim/oracles/classes.ts';
import type { CampaignRow, ClassLabel } from './data.ts';
import { html, queryString } from './html.ts';
import { page, when } from './layout.ts';

function progress(done: number, total: number) {
  const pct = total > 0 ? Math.floor((100 * done) / total) : 0;
  return html`<progress max="${total}" value="${done}"></progress> <span class="num">${done} / ${total} jobs (${pct}%)</span>`;
}

/** `/`: the recent campaigns, newest first, with progress and their unique findings by class. */
export function campaignsPage(rows: readonly CampaignRow[], totalFindings: number): string {
  // An oracle of another simulator version has no class here: its column shows only when needed.
  const classes: ClassLabel[] = rows.some((r) => r.byClass.unknown > 0) ? [...ORACLE_CLASSES, 'unknown'] : [...ORACLE_CLASSES];
  const body = html`<h1>Campaigns</h1>
<p>${rows.length} recent campaign${rows.length === 1 ? '' : 's'}; <a href="/findings">${totalFindings} unique finding${totalFindings === 1 ? '' : 's'}</a> across the farm.</p>
${
  rows.length === 0
    ? html`<div class="empty">No campaign yet: <code>racefarm campaign start --scenario … --variant …</code>.</div>`
    : html`<table id="campaigns"><thead><tr><th>campaign</th><th>state</th><th>scenario</th><th>variant</th><th>strategy</th><th>seeds</th><th>progress</th><th>schedules</th>
${classes.map((c) => html`<th class="cls-${c}">${c}</th>`)}<th>coverage</th><th>started</th></tr></thead><tbody>
${rows.map(({ view: c, byClass }) => {
  const link = (cls?: string) => `/findings${queryString({ campaign: c.id, class: cls })}`;
  return html`<tr data-campaign="${c.id}" data-state="${c.state}">
<td><a href="${link()}" class="mono">${c.id}</a>${c.name ? html`<br>${c.name}` : ''}</td>
<td class="state-${c.state}">${c.state}</td><td>${c.scenario}</td><td>${c.variant}</td><td>${c.strategy}${c.strategy === 'exhaustive' ? html` (depth ${c.depth})` : ''}</td>
<td class="num">${c.certificate ? html`${c.certificate.prefixes} prefixes${c.certificate.complete ? html`, certified K=${c.certificate.bound}` : c.certificate.race ? html`, race ${c.certificate.race.oracle}` : ''}` : html`[${c.seedStart}, ${c.seedStart + c.seedCount})`}</td>
<td>${progress(c.jobsDone, c.jobsTotal)}</td><td class="num">${c.schedules}</td>
${classes.map((cls) => html`<td class="num cls-${cls}" data-class="${cls}">${byClass[cls] > 0 ? html`<a href="${link(cls)}">${byClass[cls]}</a>` : '0'}</td>`)}
<td class="num">${c.coverage ? c.coverageFeatures : 'not collected'}</td><td>${when(c.createdAtMs)}</td></tr>`;
})}
</tbody></table>`
}`;
  return page('Campaigns', body);
}
