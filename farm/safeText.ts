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

/**
 * One `field: message` problem, escaped: the field path and the message are capped apart, so a
 * 10 MB key in the path still leaves the reason readable (`sites.kkk… (10485760 more characters):
 * unknown site`).
 */
export function escapeProblem(p: string, maxEach = 500): string {
  const i = p.indexOf(': ');
  if (i < 0) return escapeText(p, maxEach);
  return `${escapeText(p.slice(0, i), Math.min(200, maxEach))}: ${escapeText(p.slice(i + 2), maxEach)}`;
}

/** Multi-line text (a list of problems): each line escaped, at most `maxLines` of them. */
export function escapeLines(lines: readonly string[], maxLines = 20, maxEach = 500): string[] {
  const out = lines.slice(0, maxLines).map((l) => escapeProblem(l, maxEach));
  if (lines.length > maxLines) out.push(`… and ${lines.length - maxLines} more`);
  return out;
}

/** True when the text has a lone surrogate (not valid UTF-16, not representable in UTF-8). */
export function hasLoneSurrogate(s: string): boolean {
  return /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

/**
 * JSON for a terminal: JSON.stringify already writes C0 controls and lone surrogates as `\uXXXX`;
 * DEL and the C1 controls (U+009B is a one-character CSI to some terminals) pass through it raw,
 * so they are escaped too. The value parses back unchanged.
 */
export function jsonLine(v: unknown): string {
  return JSON.stringify(v).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => hex4(c.charCodeAt(0)));
}

/**
 * A bad-input report for a terminal: the headline, then at most `maxLines` problems, each escaped
 * and capped (a 10 MB key or 100,000 unknown sites print a few lines, not the input back).
 */
export function inputReport(headline: string, problems: readonly string[], maxLines = 20, maxEach = 500): string {
  return `${escapeText(headline, maxEach)}:\n  ${escapeLines(problems, maxLines, maxEach).join('\n  ')}`;
}
