import { NOT_A_RACE, type Violation } from '../../oracles/violation.ts';
import type { ExhaustiveResult, VerdictExample } from './types.ts';

/** What a search keeps of a schedule it ran to the end. */
export interface FinishedRun {
  readonly decisions: readonly number[];
  readonly violations: readonly Violation[];
  readonly steps: number;
  readonly threadNames: readonly string[];
}

/**
 * The verdicts an exhaustive search reached (plain DFS, POR or stateful alike): per distinct
 * verdict — the sorted oracle names of a schedule, "" for a clean one — how many schedules and the
 * first of them, and the first schedule on which a race oracle (or one of `target`) fired.
 */
export class VerdictTally {
  private readonly byVerdict = new Map<string, VerdictExample>();
  private first: ExhaustiveResult['finding'] = null;

  constructor(private readonly target: readonly string[] | undefined) {}

  /**
   * Counts schedule number `index` of the search order; true when it is the search's first race.
   * The violations are copied: a Simulator that resets its World reuses the list for the next run.
   */
  record(r: FinishedRun, index: number): boolean {
    const names = [...new Set(r.violations.map((v) => v.oracle))].sort().join(',');
    const violations = [...r.violations];
    const ex = this.byVerdict.get(names);
    if (ex === undefined) this.byVerdict.set(names, { verdict: names, schedules: 1, decisions: r.decisions, violations, steps: r.steps });
    else ex.schedules++;
    if (this.first !== null || !r.violations.some((v) => this.hit(v.oracle))) return false;
    this.first = { decisions: r.decisions, violations, steps: r.steps, threadNames: r.threadNames, schedule: index };
    return true;
  }

  get finding(): ExhaustiveResult['finding'] {
    return this.first;
  }

  get verdicts(): string[] {
    return [...this.byVerdict.keys()].sort();
  }

  /** In the order first reached. */
  get examples(): VerdictExample[] {
    return [...this.byVerdict.values()];
  }

  private hit(o: Violation['oracle']): boolean {
    return this.target ? this.target.includes(o) : !NOT_A_RACE.has(o);
  }
}
