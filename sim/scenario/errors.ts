/** Bad input: every problem names the field it is about, e.g. `threads[2].ops[0][1]: unknown page "C"`. */
export class InputError extends Error {
  readonly problems: readonly string[];
  constructor(what: string, problems: readonly string[]) {
    super(`${what}:\n  ${problems.join('\n  ')}`);
    this.name = 'InputError';
    this.problems = problems;
  }
}

/** Renders a path the way a JSON user writes it: `threads[2].ops[0][1]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const k of path) {
    if (typeof k === 'number') out += `[${k}]`;
    else out += out === '' ? String(k) : `.${String(k)}`;
  }
  return out === '' ? '(top level)' : out;
}
