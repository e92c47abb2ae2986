import { ORACLES, type OracleName } from './violation.ts';

/**
 * What kind of wrong an oracle reports (docs/oracles.md, "Classes"):
 *   observable — a program, a device or the kernel sees wrong data or hangs: the race has a victim;
 *   invariant  — the protocol's own rule is broken (a CPU and a secondary MMU translate one address to
 *                two frames) but nothing observable followed in this run; e.g. v4.10's
 *                page_mkclean_one() calling ->invalidate_page after pte_unmap_unlock(): the window is
 *                real, yet ->writepage runs only after it closes, so no data is lost;
 *   limit      — the run hit a resource limit of the model (step budget, frame pool): not a race at all,
 *                only a sign that the scenario's budget is too small for that schedule.
 */
export const ORACLE_CLASSES = ['observable', 'invariant', 'limit'] as const;
export type OracleClass = (typeof ORACLE_CLASSES)[number];

/**
 * Every oracle's class. A `Record` over OracleName, so a new oracle does not type-check until it is
 * classed here.
 */
export const ORACLE_CLASS: Readonly<Record<OracleName, OracleClass>> = {
  'use-after-free': 'observable',
  'stale-read': 'observable',
  'lost-write': 'observable',
  'soft-dirty-missed': 'observable',
  'no-progress': 'observable',
  deadlock: 'observable',
  'split-mapping': 'invariant',
  'step-budget': 'limit',
};

export function oracleClass(o: OracleName): OracleClass {
  return ORACLE_CLASS[o];
}

/** The class of an oracle named by a string (metrics, farm records): null when it is not an oracle. */
export function classOfName(o: string): OracleClass | null {
  return Object.hasOwn(ORACLE_CLASS, o) ? ORACLE_CLASS[o as OracleName] : null;
}

/** Orders findings for display: observable first, then invariant, then limit. */
export function classRank(c: OracleClass): number {
  return ORACLE_CLASSES.indexOf(c);
}

/** The oracles whose violations count as findings in a run (`fuzz --oracles`). */
export type OracleSelection = ReadonlySet<OracleName>;

export const ALL_ORACLES: OracleSelection = new Set(ORACLES);
export const OBSERVABLE_ORACLES: OracleSelection = new Set(ORACLES.filter((o) => ORACLE_CLASS[o] === 'observable'));

/** Parse error of an oracle selection: names the entry that is not an oracle. */
export class OracleSelectionError extends Error {}

/**
 * `observable` | `all` | a comma-separated list of oracle names (docs/oracles.md). Throws
 * OracleSelectionError naming the first entry that is not an oracle.
 */
export function parseOracleSelection(text: string): OracleSelection {
  const t = text.trim();
  if (t === 'all') return ALL_ORACLES;
  if (t === 'observable') return OBSERVABLE_ORACLES;
  const out = new Set<OracleName>();
  for (const raw of t.split(',')) {
    const name = raw.trim();
    if (!(ORACLES as readonly string[]).includes(name)) {
      throw new OracleSelectionError(
        `"${name}" is not an oracle (use observable, all, or a comma-separated list of: ${ORACLES.join(', ')})`,
      );
    }
    out.add(name as OracleName);
  }
  return out;
}

/** The selection as the text parseOracleSelection reads back: `all`, `observable`, or the sorted names. */
export function selectionText(s: OracleSelection): string {
  if (s.size === ALL_ORACLES.size) return 'all';
  if (s.size === OBSERVABLE_ORACLES.size && [...s].every((o) => OBSERVABLE_ORACLES.has(o))) return 'observable';
  return [...s].sort().join(',');
}
