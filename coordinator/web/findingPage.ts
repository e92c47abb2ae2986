import type { Finding } from '../../sim/finding.ts';
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

/** A finding page's replay, done off the event loop (coordinator/simThread.ts `html`). */
export type RenderHtml = (f: Finding, banner: string) => Promise<{ html: string | null; reproduced: boolean; reason: string }>;

/**
 * Longest run the page replays: its HTML carries a row and a state snapshot per step, so a 1e6-step
 * livelock would be hundreds of MB to build and to send. Longer findings get the bounded text
 * trace the minimize job stored, and their files.
 */
export const MAX_HTML_STEPS = 20_000;
/** Largest page served (characters); a longer render is dropped and the page says why. */
export const MAX_HTML_CHARS = 32 * 1024 * 1024;

/**
 * `/findings/<signature>`: the HTML trace of the finding — the renderer of `repro --html`
 * (sim/trace/html.ts), replaying the minimized finding when there is one, else the one found — under
 * a bar with the finding's farm facts and its files to download. `?show=found` traces the finding as
 * found. The replay runs in the coordinator's simulation thread (`render`), never on its event loop,
 * and is bounded: a run longer than MAX_HTML_STEPS is not replayed, a page longer than
 * MAX_HTML_CHARS is not served, and the thread's time limit stops a replay that overruns. A finding
 * of another simulator version is not replayed either: the page says why and still offers the files.
 */
export async function findingPage(
  row: FindingRow,
  files: { found: Finding; minimized: Finding | null; reason: string; trace: string },
  show: FindingFileKind,
  render: RenderHtml,
): Promise<string> {
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
  let reason: string;
  if (!(f.steps <= MAX_HTML_STEPS)) {
    reason = `the run is ${f.steps} steps long, more than the web view replays (${MAX_HTML_STEPS})`;
  } else {
    const r = await render(f, banner.text);
    if (r.html !== null) return r.html;
    reason = r.reason;
  }
  // No HTML trace (too long, or another simulator version): the facts, the bounded text trace the
  // minimize job stored when there is one, and the files.
  return page(
    `${row.oracle} in ${row.scenario}`,
    html`${banner}<h1>${row.oracle} in ${row.scenario} (${row.variant})</h1>
<div class="error" id="no-trace">No HTML trace: ${reason}. Replay the file with the simulator (<code>racefarm repro FILE --html OUT</code>).</div>
<p class="msg">${row.message}</p>
${kind === 'minimized' && files.trace !== '' ? html`<pre id="text-trace">${files.trace}</pre>` : ''}`,
  );
}
