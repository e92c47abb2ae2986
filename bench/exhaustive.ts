import { CATALOG, catalogEntry } from '../sim/scenario/catalog.ts';
import { compileScenario } from '../sim/scenario/compile.ts';
import { PRESETS } from '../sim/variants/presets.ts';
import { exhaustive } from '../sim/schedule/exhaustive.ts';

export interface ExhaustiveRow {
  scenario: string;
  /** A correct preset: the search is a certificate "no violation within bound k". */
  variant: string;
  bound: number;
  /** true: sleep-set partial-order reduction; false: plain DFS over every interleaving within the bound. */
  reduction: boolean;
  /** Every schedule within the bound covered; false = "incomplete at cap". */
  complete: boolean;
  /** Executions run to the end. */
  schedules: number;
  /** Executions the reduction cut short (always 0 for plain DFS). */
  pruned: number;
  /** Safety cap on schedules + pruned. */
  cap: number;
  ms: number;
  /** Distinct verdicts ("" = clean); anything else on a correct preset is worth a look. */
  verdicts: string[];
}

export interface ExhaustiveTask {
  scenario: string;
  variant: string;
  bound: number;
  reduction: boolean;
  cap: number;
}

/**
 * The certificates of figure 6: every built-in scenario under each of its correct presets, preemption
 * bound 1 and 2, with and without partial-order reduction. `capFor` gives each (scenario, bound) its
 * cap on executions, or null to leave it out (the quick run skips cow-two-pages at bound 2: about a
 * million schedules).
 */
export function exhaustiveTasks(capFor: (scenario: string, bound: number) => number | null): ExhaustiveTask[] {
  const tasks: ExhaustiveTask[] = [];
  for (const e of CATALOG) {
    for (const variant of e.correct) {
      for (const bound of [1, 2]) {
        const c = capFor(e.scenario.name, bound);
        if (c === null) continue;
        for (const reduction of [true, false]) tasks.push({ scenario: e.scenario.name, variant, bound, reduction, cap: c });
      }
    }
  }
  return tasks;
}

export function runExhaustiveTask(t: ExhaustiveTask): ExhaustiveRow {
  const entry = catalogEntry(t.scenario);
  if (!entry) throw new Error(`unknown scenario ${t.scenario}`);
  const sc = compileScenario(entry.scenario);
  const variant = PRESETS.get(t.variant)!;
  const t0 = performance.now();
  const r = exhaustive(sc, variant.sites, { bound: t.bound, reduction: t.reduction, stopAtFirst: false, maxSchedules: t.cap });
  return {
    scenario: t.scenario,
    variant: t.variant,
    bound: t.bound,
    reduction: t.reduction,
    complete: r.complete,
    schedules: r.schedules,
    pruned: r.pruned,
    cap: t.cap,
    ms: performance.now() - t0,
    verdicts: [...r.verdicts],
  };
}
