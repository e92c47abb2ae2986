import type { IncomingMessage, ServerResponse } from 'node:http';
import { keys } from '../../farm/keys.ts';
import type { FarmStore } from '../../farm/store.ts';
import type { HttpHandler } from '../../farm/metrics.ts';
import { WebAccess } from './access.ts';
import { campaignsPage } from './campaignsPage.ts';
import { WebData } from './data.ts';
import { FilterError, parseFilter } from './filter.ts';
import { MAX_HTML_CHARS, findingFileName, findingPage, type FindingFileKind } from './findingPage.ts';
import type { SimThread } from '../simThread.ts';
import { SimBusy } from '../simThread.ts';
import { findingsPage } from './findingsPage.ts';
import { html } from './html.ts';
import { PAGE_HEADERS, page } from './layout.ts';
import { loginPage } from './loginPage.ts';

/** The trace page runs the renderer's own inline script (sim/trace/html.ts); nothing else. */
const TRACE_HEADERS = {
  ...PAGE_HEADERS,
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};

/** Characters of rendered finding pages kept (a page is replayed once, then served from here). */
const TRACE_CACHE_CHARS = 64 * 1024 * 1024;

/** A signature as the farm writes them (hex, coordinator/service.ts); anything else is no finding. */
const SIGNATURE = /^[0-9a-f]{1,64}$/;

/** A local path to go back to after logging in (never another host: `//evil` or `/\evil` are refused). */
function localPath(next: string | null): string {
  return next !== null && /^\/(?![/\\])/.test(next) ? next : '/';
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = PAGE_HEADERS, head = false): void {
  res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
  res.end(head ? undefined : body);
}

function readForm(req: IncomingMessage, limit = 4096): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => {
      body += d;
      if (body.length > limit) {
        reject(new Error('form too large'));
        req.destroy();
      }
    });
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });
}

/**
 * The coordinator's read-only findings web view, served on its metrics listener:
 *
 *   GET /                               campaigns: progress, unique findings by oracle class
 *   GET /findings[?oracle=&class=&scenario=&variant=&status=&campaign=&q=]   every unique finding
 *   GET /findings/<signature>[?show=found]   the HTML trace (the `repro --html` renderer)
 *   GET /findings/<signature>/found.json     the finding file as found (lowest seed)
 *   GET /findings/<signature>/minimized.json the minimized finding file
 *   GET|POST /login                     the login form (when the coordinator has a token)
 *
 * With a token, every page needs `authorization: Bearer <token>` or the session cookie (access.ts);
 * `?token=<token>` on any page logs a browser in and redirects to the same page without it.
 */
export function webView(store: FarmStore, token: string | undefined, sim: Pick<SimThread, 'html'>): HttpHandler {
  const access = new WebAccess(token);
  const data = new WebData(store);
  // Rendered pages, most recent last, at most TRACE_CACHE_CHARS in all; a page being rendered is
  // shared by the requests that ask for it meanwhile.
  const traces = new Map<string, string>();
  let cachedChars = 0;
  const rendering = new Map<string, Promise<string>>();
  const remember = (key: string, body: string) => {
    while (traces.size > 0 && cachedChars + body.length > TRACE_CACHE_CHARS) {
      const [k, v] = traces.entries().next().value!;
      traces.delete(k);
      cachedChars -= v.length;
    }
    if (body.length <= TRACE_CACHE_CHARS) {
      traces.set(key, body);
      cachedChars += body.length;
    }
  };

  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://racefarm.invalid');
    const path = url.pathname;
    const head = req.method === 'HEAD';
    const isPage = path === '/' || path === '/login' || path === '/findings' || path.startsWith('/findings/');
    if (!isPage) return false;

    if (path === '/login') {
      if (req.method === 'POST') {
        const form = await readForm(req).catch(() => new URLSearchParams());
        const next = localPath(form.get('next'));
        if (!access.isToken(form.get('token') ?? '')) {
          send(res, 401, loginPage(next, access.open ? undefined : 'That is not the coordinator\u2019s token.'));
          return true;
        }
        res.writeHead(303, { location: next, 'set-cookie': access.sessionCookie(), 'cache-control': 'no-store' }).end();
        return true;
      }
      if (req.method !== 'GET' && !head) return false;
      send(res, 200, loginPage(localPath(url.searchParams.get('next')), access.open ? 'This coordinator has no token: every page is open.' : undefined), PAGE_HEADERS, head);
      return true;
    }
    if (req.method !== 'GET' && !head) return false;

    // ?token= logs in: the cookie is set and the token leaves the address bar.
    const offered = url.searchParams.get('token');
    if (offered !== null && !access.open) {
      url.searchParams.delete('token');
      const clean = url.pathname + (url.searchParams.size > 0 ? `?${url.searchParams}` : '');
      if (!access.isToken(offered)) {
        send(res, 401, loginPage(clean, 'That is not the coordinator\u2019s token.'), PAGE_HEADERS, head);
        return true;
      }
      res.writeHead(303, { location: clean, 'set-cookie': access.sessionCookie(), 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' }).end();
      return true;
    }
    const verdict = access.verdict(req);
    if (verdict !== 'allowed') {
      const next = url.pathname + url.search;
      send(res, 401, loginPage(next, verdict === 'invalid' ? 'The token or session cookie sent is not valid for this coordinator.' : undefined), { ...PAGE_HEADERS, 'www-authenticate': 'Bearer realm="racefarm"' }, head);
      return true;
    }

    if (path === '/') {
      const [rows, n] = await Promise.all([data.campaigns(100), store.redis.zcard(keys.findings)]);
      send(res, 200, campaignsPage(rows, n), PAGE_HEADERS, head);
      return true;
    }
    if (path === '/findings') {
      const all = await data.findings();
      try {
        send(res, 200, findingsPage(all, parseFilter(url.searchParams)), PAGE_HEADERS, head);
      } catch (e) {
        if (!(e instanceof FilterError)) throw e;
        send(res, 400, findingsPage(all, {}, e.message), PAGE_HEADERS, head);
      }
      return true;
    }

    const m = /^\/findings\/([^/]+)(?:\/(found|minimized)\.json)?$/.exec(path);
    const sig = m ? decodeURIComponent(m[1]) : '';
    const notFound = () => send(res, 404, page('Not found', html`<h1>Not found</h1><p>No finding with signature <code>${sig}</code>. <a href="/findings">All findings</a>.</p>`), PAGE_HEADERS, head);
    if (!m || !SIGNATURE.test(sig)) {
      notFound();
      return true;
    }
    const [row, files] = await Promise.all([data.finding(sig), data.findingFiles(sig)]);
    if (!row || !files) {
      notFound();
      return true;
    }
    if (m[2] !== undefined) {
      const kind = m[2] as FindingFileKind;
      const f = kind === 'minimized' ? files.minimized : files.raw;
      if (f === null) {
        send(res, 404, page('Not minimized', html`<h1>Not minimized</h1><p>Finding <code>${sig}</code> is ${row.status}: no minimized file yet.</p>`), PAGE_HEADERS, head);
        return true;
      }
      const body = `${JSON.stringify(f, null, 2)}\n`;
      send(res, 200, body, { 'content-type': 'application/json; charset=utf-8', 'content-disposition': `attachment; filename="${findingFileName(f, kind)}"`, 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' }, head);
      return true;
    }
    const show: FindingFileKind = url.searchParams.get('show') === 'found' ? 'found' : 'minimized';
    // Replaying is the costly part: keep the last pages (a finding's files change only when minimized).
    const key = `${sig}\u0000${show}\u0000${row.status}\u0000${row.campaigns.join(',')}`;
    let body = traces.get(key);
    if (body === undefined) {
      let p = rendering.get(key);
      if (!p) {
        p = findingPage(row, { found: files.raw, minimized: files.minimized, reason: files.reason, trace: files.trace }, show, (f, banner) => sim.html(f, banner, MAX_HTML_CHARS)).finally(() => rendering.delete(key));
        rendering.set(key, p);
      }
      try {
        body = await p;
      } catch (e) {
        if (!(e instanceof SimBusy)) throw e;
        // The simulation thread is saturated or the replay overran its time limit.
        send(res, 503, page('Busy', html`<h1>Busy</h1><p id="busy">${e.message}</p><p>The finding files can still be downloaded: <a href="${`/findings/${sig}/found.json`}">found.json</a>.</p>`), { ...PAGE_HEADERS, 'retry-after': '10' }, head);
        return true;
      }
      remember(key, body);
    }
    send(res, 200, body, TRACE_HEADERS, head);
    return true;
  };
}
