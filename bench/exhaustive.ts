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
  /** The stateful search (reduction off): pruned at (state, last thread) explored with as much budget left. */
  stateful?: boolean;
  /** Distinct (state, last thread) the stateful search kept. */
  states?: number;
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
  /** Infinity: unbounded (every interleaving). */
  bound: number;
  reduction: boolean;
  cap: number;
  stateful?: boolean;
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
  const r = exhaustive(sc, variant.sites, { bound: t.bound, reduction: t.reduction, stateful: t.stateful === true, stopAtFirst: false, maxSchedules: t.cap });
  return {
    scenario: t.scenario,
    variant: t.variant,
    bound: t.bound,
    reduction: t.reduction,
    stateful: t.stateful === true,
    states: r.states,
    complete: r.complete,
    schedules: r.schedules,
    pruned: r.pruned,
    cap: t.cap,
    ms: performance.now() - t0,
    verdicts: [...r.verdicts],
  };
}

/**
 * The stateful search's rows: cow-two-pages under v4.15 at bound 2 (the 30 s target),
 * ksm-stale-tlb under its correct presets at bound 2, and
 * an unbounded certificate for every catalog scenario under its first correct preset, each under
 * `cap` executions (a row that hits the cap says complete: false: its state space did not allow).
 * Run alone: `npx tsx bench/exhaustive.ts stateful [cap] [scenario]` prints one JSON row per line
 * (every unbounded row; with a scenario, that scenario's bounded rows, else its unbounded one).
 */
export function statefulTasks(cap: number): ExhaustiveTask[] {
  const tasks: ExhaustiveTask[] = [
    { scenario: 'cow-two-pages', variant: 'v4.15', bound: 2, reduction: false, stateful: true, cap: 5_000_000 },
    // The K=2 certificates CI cannot afford (test/exhaustive.test.ts SKIP): ksm-stale-tlb's race
    // needs four preemptions; its correct presets are certified here (v4.13: 161,087 executions,
    // 5.6M states, 192 s, 2.7 GB peak RSS at racefarm-sim 0.6.4).
    { scenario: 'ksm-stale-tlb', variant: 'v4.13', bound: 2, reduction: false, stateful: true, cap: 5_000_000 },
    { scenario: 'ksm-stale-tlb', variant: 'v4.15', bound: 2, reduction: false, stateful: true, cap: 5_000_000 },
  ];
  for (const e of CATALOG) {
    if (e.correct.length === 0) continue;
    tasks.push({ scenario: e.scenario.name, variant: e.correct[0], bound: Number.POSITIVE_INFINITY, reduction: false, stateful: true, cap });
  }
  return tasks;
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split('/').pop()!) && process.argv[2] === 'stateful') {
  const cap = Number(process.argv[3] ?? 200_000);
  const only = process.argv[4];
  const tasks = statefulTasks(cap);
  // A scenario named: its bounded rows if it has any (cow-two-pages, ksm-stale-tlb), else its unbounded one.
  const bounded = (name: string) => tasks.some((t) => t.scenario === name && Number.isFinite(t.bound));
  for (const t of tasks) {
    if (only !== undefined && (t.scenario !== only || Number.isFinite(t.bound) !== bounded(only))) continue;
    if (only === undefined && t.bound !== Number.POSITIVE_INFINITY) continue;
    const row = runExhaustiveTask(t);
    process.stdout.write(JSON.stringify({ ...row, bound: Number.isFinite(row.bound) ? row.bound : 'unbounded' }) + '\n');
  }
}
