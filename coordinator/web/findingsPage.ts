import type { FindingRow } from './data.ts';
import { FILTER_CLASSES, FILTER_STATUSES, matches, type FindingFilter } from './filter.ts';
import { html, queryString } from './html.ts';
import { page, when } from './layout.ts';

/** A <select> of the values a column takes (plus "any"), the current one selected. */
function select(name: keyof FindingFilter, values: readonly string[], current: string | undefined) {
  const all = [...new Set(current !== undefined ? [...values, current] : values)].sort();
  return html`<label>${name}<select name="${name}"><option value="">any</option>${all.map(
    (v) => html`<option value="${v}"${v === current ? html` selected` : ''}>${v}</option>`,
  )}</select></label>`;
}

const distinct = (rows: readonly FindingRow[], pick: (r: FindingRow) => string | readonly string[]) => [...new Set(rows.flatMap((r) => pick(r)))];

/**
 * `/findings`: every unique finding of the farm (one row per signature), filtered by the query
 * string (filter.ts). The filter is a plain GET form, so it works without JavaScript and every
 * filtered view has a URL.
 */
export function findingsPage(all: readonly FindingRow[], filter: FindingFilter, error?: string): string {
  const rows = error !== undefined ? [] : all.filter((r) => matches(r, filter));
  const filtered = Object.keys(filter).length > 0;
  const body = html`<h1>Findings</h1>
<form class="filter" method="get" action="/findings">
${select('oracle', distinct(all, (r) => r.oracle), filter.oracle)}
${select('class', FILTER_CLASSES, filter.class)}
${select('scenario', distinct(all, (r) => r.scenario), filter.scenario)}
${select('variant', distinct(all, (r) => r.variant), filter.variant)}
${select('status', FILTER_STATUSES, filter.status)}
${select('campaign', distinct(all, (r) => r.campaigns), filter.campaign)}
<label>text<input type="search" name="q" value="${filter.q ?? ''}" placeholder="signature, scenario, message…"></label>
<button type="submit">Filter</button>${filtered ? html` <a href="/findings">clear</a>` : ''}
</form>
${error !== undefined ? html`<div class="error" id="filter-error">${error}</div>` : ''}
<p id="count">${rows.length} of ${all.length} unique finding${all.length === 1 ? '' : 's'}${filtered ? ' (filtered)' : ''}.</p>
${
  rows.length === 0
    ? html`<div class="empty">${all.length === 0 ? 'No finding yet.' : 'No finding matches the filter.'}</div>`
    : html`<table id="findings"><thead><tr><th>signature</th><th>oracle</th><th>class</th><th>scenario</th><th>variant</th><th>seed</th><th>status</th><th>first seen</th><th>campaigns</th><th>message</th></tr></thead><tbody>
${rows.map(
  (r) => html`<tr class="finding" data-signature="${r.signature}" data-oracle="${r.oracle}" data-class="${r.class}" data-scenario="${r.scenario}" data-status="${r.status}">
<td><a class="mono" href="/findings/${encodeURIComponent(r.signature)}">${r.signature}</a></td><td>${r.oracle}</td><td class="cls-${r.class}">${r.class}</td>
<td>${r.scenario}</td><td>${r.variant}</td><td class="num">${r.seed}</td><td>${r.status}</td><td>${when(r.firstSeenMs)}</td>
<td class="campaigns">${r.campaigns.map((c, i) => html`${i > 0 ? html`<br>` : ''}<a class="mono" href="/findings${queryString({ campaign: c })}">${c}</a>`)}</td>
<td class="msg">${r.message}</td></tr>`,
)}
</tbody></table>`
}`;
  return page('Findings', body);
}
