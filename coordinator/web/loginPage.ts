import { html } from './html.ts';
import { page } from './layout.ts';

/**
 * The page a request without valid credentials gets (HTTP 401), and `/login`: a form that posts the
 * token once (the browser keeps a session cookie, access.ts), and how to send it from a script.
 */
export function loginPage(next: string, problem?: string): string {
  return page(
    'Token required',
    html`<h1>This coordinator needs its token</h1>
${problem !== undefined ? html`<div class="error" id="login-problem">${problem}</div>` : ''}
<p>The web view is behind the same bearer token as the coordinator's gRPC API (<code>--token</code> or
<code>RACEFARM_TOKEN</code>). Enter it once; the browser keeps a session cookie for this coordinator.</p>
<form method="post" action="/login" id="login"><input type="hidden" name="next" value="${next}">
<label>token <input type="password" name="token" autocomplete="current-password" required></label> <button type="submit">Open</button></form>
<p>Or open any page with <code>?token=TOKEN</code> once, or send the header:
<code>curl -H "authorization: Bearer $RACEFARM_TOKEN" http://HOST:9464/findings</code>.</p>`,
  );
}
