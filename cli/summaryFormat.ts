import { fmtInt, table } from './format.ts';
import { commandPrefix } from './invocation.ts';

/**
 * The text summary `fuzz` and `explore` print (README.md, `fuzz`): the same lines in the same words,
 * so one reads like the other; each command adds its own rows and columns.
 */

/** `schedules`, `steps` and `elapsed`, aligned like the rest of the summary. */
export function runLines(schedules: number, steps: number, elapsedMs: number): string[] {
  return [`schedules  ${fmtInt(schedules)}`, `steps      ${fmtInt(steps)}`, `elapsed    ${(elapsedMs / 1000).toFixed(2)} s`];
}

/** The oracles that fired, each with the runs in which it did. */
export function oraclesLine(byOracle: Readonly<Record<string, number | undefined>>): string {
  const fired = Object.entries(byOracle).map(([o, n]) => `${o} ${fmtInt(n ?? 0)}`);
  return `oracles    ${fired.length > 0 ? `${fired.join(', ')} (runs in which each fired)` : 'none fired'}`;
}

/**
 * The findings: `no findings`, or a heading (`N unique finding(s), K observable` + `more`), the
 * table (one row per finding, in order) and the command that replays the first one.
 */
export function findingsLines(
  findings: readonly { readonly class: string; readonly file: string }[],
  more: string,
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string[] {
  if (findings.length === 0) return ['', 'no findings'];
  const observable = findings.filter((f) => f.class === 'observable').length;
  return [
    '',
    `${findings.length} unique finding(s), ${observable} observable${more}:`,
    table(header, rows),
    '',
    `replay one with: ${commandPrefix()} repro ${findings[0].file}`,
  ];
}
