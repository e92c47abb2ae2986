export const ORACLES = [
  'use-after-free',
  'stale-read',
  'lost-write',
  'soft-dirty-missed',
  'split-mapping',
  'no-progress',
  'deadlock',
  'step-budget',
] as const;
export type OracleName = (typeof ORACLES)[number];

/** Oracles that report a limit of the run rather than a race. */
export const NOT_A_RACE: ReadonlySet<OracleName> = new Set(['step-budget']);

export interface Violation {
  readonly oracle: OracleName;
  /** Index of the step after which the oracle fired (0-based), or the step count for end-of-run oracles. */
  readonly step: number;
  /** Thread that ran the violating step; -1 for end-of-run checks. */
  readonly thread: number;
  /** Kernel-function label of the violating step. */
  readonly label: string;
  readonly page: string;
  readonly message: string;
  /** Labels of the steps that took part: the violating one and the steps that made the state it tripped on. */
  readonly participants: readonly string[];
}
