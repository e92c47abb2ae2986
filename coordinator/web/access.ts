import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The cookie a browser keeps after logging in to the web view. */
export const SESSION_COOKIE = 'racefarm_session';

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The cookies of a request (`cookie: a=1; b=2`). */
function cookies(req: IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return out;
}

export type AccessVerdict = 'allowed' | 'missing' | 'invalid';

/**
 * Who may read the web view: everyone when the coordinator has no token; otherwise a request that
 * carries `authorization: Bearer <token>` (the gRPC rule, coordinator/auth.ts: curl, scripts) or the
 * session cookie a browser got by logging in once (`?token=<token>` on any page, or the login form).
 *
 * The cookie holds an HMAC of the token, not the token: it opens the read-only web view and nothing
 * else (it is no gRPC credential), and it stops working when the coordinator's token changes.
 */
export class WebAccess {
  private readonly session: string | null;

  constructor(private readonly token: string | undefined) {
    this.session = token ? createHmac('sha256', token).update('racefarm web view session').digest('base64url') : null;
  }

  get open(): boolean {
    return this.token === undefined || this.token === '';
  }

  /** Whether `candidate` is the coordinator's token. */
  isToken(candidate: string): boolean {
    return !this.open && same(candidate, this.token!);
  }

  verdict(req: IncomingMessage): AccessVerdict {
    if (this.open) return 'allowed';
    const auth = req.headers.authorization;
    const cookie = cookies(req).get(SESSION_COOKIE);
    if (auth === undefined && cookie === undefined) return 'missing';
    if (auth !== undefined && same(auth, `Bearer ${this.token}`)) return 'allowed';
    if (cookie !== undefined && same(cookie, this.session!)) return 'allowed';
    return 'invalid';
  }

  /** The Set-Cookie header that logs a browser in (session cookie: gone when the browser closes). */
  sessionCookie(): string {
    return `${SESSION_COOKIE}=${this.session}; Path=/; HttpOnly; SameSite=Strict`;
  }
}
