/**
 * Text that came from a client, made safe to echo: into a gRPC status (grpc-js percent-encodes
 * details with encodeURI, which throws `URIError` on a lone UTF-16 surrogate and would take the
 * process down), into a log line, or onto another user's terminal (an ESC sequence in a campaign
 * name must not repaint it).
 */

/** Longest text echoed by default (a 100,000-character detail is useless and costly to send). */
export const MAX_ECHO = 2000;

const hex4 = (c: number) => `\\u${c.toString(16).padStart(4, '0')}`;

/**
 * Escapes C0/C1 control characters (except none: newline too, so one field stays one line),
 * DEL and lone surrogates as `\uXXXX`, then caps the result at `max` characters with the count of
 * what was left out. Well-formed surrogate pairs (emoji) pass through.
 */
export function escapeText(s: string, max = MAX_ECHO): string {
  let out = '';
  let i = 0;
  for (; i < s.length && out.length < max; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (d >= 0xdc00 && d <= 0xdfff) {
        out += s[i] + s[i + 1];
        i++;
      } else out += hex4(c);
    } else if (c >= 0xdc00 && c <= 0xdfff) out += hex4(c);
    else if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) out += hex4(c);
    else out += s[i];
  }
  if (i < s.length) out += `… (${s.length - i} more characters)`;
  return out;
}

/** Multi-line text (a list of problems): each line escaped, at most `maxLines` of them. */
export function escapeLines(lines: readonly string[], maxLines = 20, maxEach = 500): string[] {
  const out = lines.slice(0, maxLines).map((l) => escapeText(l, maxEach));
  if (lines.length > maxLines) out.push(`… and ${lines.length - maxLines} more`);
  return out;
}

/** True when the text has a lone surrogate (not valid UTF-16, not representable in UTF-8). */
export function hasLoneSurrogate(s: string): boolean {
  return /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}
