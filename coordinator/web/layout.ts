import { html, trusted, type SafeHtml } from './html.ts';

/**
 * The web view's headers: nothing but this page's own inline style (no script, no external
 * resource, forms post only here), never framed, not cached (it changes while campaigns run),
 * and no Referer (a `?token=` URL must not travel to another site).
 */
export const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
} as const;

const CSS = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1e272e;background:#fafbfc}
nav.top{display:flex;gap:16px;align-items:baseline;padding:10px 16px;background:#1e272e;color:#fff}
nav.top a{color:#fff;text-decoration:none}nav.top a:hover{text-decoration:underline}
nav.top .brand{font-weight:700;margin-right:12px}
main{padding:12px 16px}
h1{font-size:20px;margin:4px 0 12px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #dfe4ea;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f1f2f6;font-weight:600;white-space:nowrap}
td.num{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
.cls-observable{color:#c0392b;font-weight:600}.cls-invariant{color:#d35400}.cls-limit{color:#7f8c8d}.cls-unknown{color:#7f8c8d}
.state-running,.state-pending{color:#0984e3}.state-done{color:#27ae60}.state-cancelled{color:#7f8c8d}
progress{width:120px;vertical-align:middle}
form.filter{display:flex;flex-wrap:wrap;gap:8px;align-items:end;margin:0 0 12px;padding:8px;background:#fff;border:1px solid #dfe4ea}
form.filter label{display:flex;flex-direction:column;font-size:12px;color:#57606f}
.empty{padding:16px;color:#57606f}
.error{border-left:4px solid #d63031;background:#ffe3e3;padding:8px 10px;margin:8px 0}
.msg{max-width:420px}
`;

const CSS_SAFE = trusted(CSS);

export function page(title: string, body: SafeHtml): string {
  return html`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · racefarm</title><style>${CSS_SAFE}</style></head><body>
<nav class="top"><span class="brand">racefarm</span><a href="/">campaigns</a><a href="/findings">findings</a><a href="/metrics">metrics</a></nav>
<main>${body}</main></body></html>
`.text;
}

/** A date as ISO 8601 UTC to the second, or — for none. */
export function when(ms: number): string {
  return ms > 0 ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z') : '—';
}
