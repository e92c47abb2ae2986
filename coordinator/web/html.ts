import { escapeHtml } from '../../sim/trace/html.ts';

/**
 * HTML that is already safe to emit. The `html` template tag escapes every interpolated value that
 * is not a SafeHtml (strings, numbers, campaign names, finding messages…), so a page built with it
 * cannot carry user text unescaped; arrays are joined, null/undefined/false render as nothing.
 */
export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

type Part = SafeHtml | string | number | boolean | null | undefined | readonly Part[];

function render(v: Part): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof SafeHtml) return v.text;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: Part[]): SafeHtml {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new SafeHtml(out);
}

/** Markup produced by a trusted renderer (the trace page): emitted as is. */
export function trusted(text: string): SafeHtml {
  return new SafeHtml(text);
}

/** A query string from name → value pairs, leaving out empty values (`?a=1&b=x%20y`, or ''). */
export function queryString(params: Readonly<Record<string, string | undefined>>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}
