import type { Finding } from '../../sim/finding.ts';
import { renderFindingHtml } from '../../sim/trace/html.ts';
import type { FindingRow } from './data.ts';
import { html, queryString } from './html.ts';
import { page, when } from './layout.ts';

/** Which file of a finding: as the fuzz job found it (lowest seed), or as the minimize job shrank it. */
export type FindingFileKind = 'found' | 'minimized';

/** The download name of a finding file: scenario and signature, so two scenarios' files never collide. */
export function findingFileName(f: Finding, kind: FindingFileKind): string {
  const scenario = f.scenario.name.replace(/[^A-Za-z0-9._-]/g, '_');
  return `${scenario}-${f.signature}${kind === 'minimized' ? '.min' : ''}.json`;
}

export function findingFileUrl(signature: string, kind: FindingFileKind): string {
  return `/findings/${encodeURIComponent(signature)}/${kind}.json`;
}

const BAR = 'display:flex;flex-wrap:wrap;gap:14px;align-items:baseline;padding:8px 16px;background:#1e272e;color:#fff;font:13px system-ui,sans-serif';
const LINK = 'color:#fff';

/**
 * `/findings/<signature>`: the HTML trace of the finding — the renderer of `repro --html`
 * (sim/trace/html.ts), replaying the minimized finding when there is one, else the one found — under
 * a bar with the finding's farm facts and its files to download. `?show=found` traces the finding as
 * found. A finding of another simulator version is not replayed: the page says why and still offers
 * the files.
 */
export function findingPage(row: FindingRow, files: { found: Finding; minimized: Finding | null; reason: string }, show: FindingFileKind): string {
  const kind: FindingFileKind = show === 'minimized' && files.minimized !== null ? 'minimized' : 'found';
  const f = kind === 'minimized' ? files.minimized! : files.found;
  const other: FindingFileKind = kind === 'minimized' ? 'found' : 'minimized';
  const banner = html`<nav class="racefarm-web" style="${BAR}"><a style="${LINK};font-weight:700" href="/findings">← findings</a>
<span>status <strong id="finding-status">${row.status}</strong></span>
<span>first seen ${when(row.firstSeenMs)}</span>
<span>campaigns ${row.campaigns.map((c, i) => html`${i > 0 ? ', ' : ''}<a style="${LINK}" href="/findings${queryString({ campaign: c })}">${c}</a>`)}</span>
<span>trace of the <strong>${kind === 'minimized' ? 'minimized' : 'found'}</strong> finding${
    kind === 'minimized' || files.minimized !== null
      ? html` (<a style="${LINK}" href="/findings/${encodeURIComponent(row.signature)}${queryString({ show: other })}">show ${other}</a>)`
      : ''
  }</span>
<a style="${LINK}" id="download-found" href="${findingFileUrl(row.signature, 'found')}" download="${findingFileName(files.found, 'found')}">download finding (seed ${files.found.seed})</a>
${files.minimized !== null ? html`<a style="${LINK}" id="download-minimized" href="${findingFileUrl(row.signature, 'minimized')}" download="${findingFileName(files.minimized, 'minimized')}">download minimized</a>` : ''}
${row.status === 'failed' && files.reason !== '' ? html`<span>minimize failed: ${files.reason}</span>` : ''}
</nav>`;
  const r = renderFindingHtml(f, { banner: banner.text });
  if (r.html !== null) return r.html;
  const reason = r.reproduced ? '' : r.reason;
  // Not replayable here (another simulator version): the facts and the files, no trace.
  return page(
    `${row.oracle} in ${row.scenario}`,
    html`${banner}<h1>${row.oracle} in ${row.scenario} (${row.variant})</h1>
<div class="error" id="no-trace">No trace: ${reason}. Replay the file with the simulator that made it (<code>racefarm repro FILE --html OUT</code>).</div>
<p class="msg">${row.message}</p>`,
  );
}
