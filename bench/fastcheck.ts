import fc from 'fast-check';
import { catalogEntry } from '../sim/scenario/catalog.ts';
import { compileScenario } from '../sim/scenario/compile.ts';
import type { CompiledScenario } from '../sim/scenario/compiled.ts';
import { PRESETS, type Variant } from '../sim/variants/presets.ts';
import { Simulator } from '../sim/run.ts';
import type { Chooser } from '../sim/schedule/chooser.ts';
import type { SimThread } from '../sim/thread.ts';
import { estimateSteps, makeChooser, threadCount, type StrategySpec } from '../sim/schedule/strategy.ts';
import { PCT_AUTO_DEPTH } from '../sim/schedule/pct.ts';
import type { OracleName } from '../sim/oracles/violation.ts';
import { summarize, type Summary } from './stats.ts';
import { CAMPAIGN_STRIDE } from './firstFinding.ts';

/**
 * Figure 5: racefarm's schedulers against fast-check's `fc.scheduler()` on the SAME model — the
 * simulator itself, scenario and variant unchanged. Only who decides the interleaving differs.
 *
 * FastCheckChooser is a Chooser (sim/schedule/chooser.ts) whose every decision is fast-check's: each
 * runnable thread has one pending task in the fc.Scheduler (its next step, scheduled with
 * `s.schedule`), and at a decision point the chooser asks the scheduler to release one
 * (`s.waitOne()`); the thread whose task it released runs the step. fast-check picks the task from
 * its own random stream (mrng.nextInt over the scheduled tasks), so it is fast-check's seed,
 * fast-check's runs and fast-check's failure report. The release is synchronous: fc's
 * `waitOne` selects a task and calls that task's `customAct` before it returns, and the chooser's
 * customAct records the thread there (it does not need the task's promise to settle).
 *
 * A thread that was runnable earlier but is blocked now (a lock, a gate) keeps its pending task; if the
 * scheduler releases it, the thread stays blocked and gets a new task the next time it can run, and
 * the scheduler is asked again — an async program's blocked task re-checking its condition. Either
 * way the runnable thread that runs is the one fast-check released.
 *
 * Both sides run the same seeds budget ("cap"): fc.check(numRuns: cap, seed: campaign) against
 * racefarm's seeds [k × 1e6, k × 1e6 + cap), each stopping at the first run on which one of the
 * race's expected oracles fires, on a Simulator (one World reset per run) each.
 */
export class FastCheckChooser implements Chooser {
  /** Threads with a task pending in the scheduler. */
  private readonly pending = new Set<number>();
  private released = -1;
  /** Tasks the scheduler released for a thread that could not run at that point. */
  blockedReleases = 0;

  constructor(private readonly s: fc.Scheduler) {}

  pick(enabled: readonly SimThread[], count: number): SimThread {
    // One runnable thread is no decision (Chooser: consume no randomness for it).
    if (count === 1) return enabled[0];
    for (let i = 0; i < count; i++) {
      const id = enabled[i].id;
      if (this.pending.has(id)) continue;
      this.pending.add(id);
      this.s.schedule(Promise.resolve(id), `t${id}`, undefined, () => {
        this.released = id;
        return Promise.resolve();
      });
    }
    for (;;) {
      this.released = -1;
      void this.s.waitOne();
      const id = this.released;
      if (id < 0) throw new Error('fc.Scheduler.waitOne released no task synchronously (fast-check changed?)');
      this.pending.delete(id);
      for (let i = 0; i < count; i++) if (enabled[i].id === id) return enabled[i];
      this.blockedReleases++;
    }
  }
}

export type FastCheckSide = 'fc.scheduler' | 'racefarm random' | 'racefarm pct auto';

export interface FastCheckSearch {
  side: FastCheckSide;
  /** Runs (fast-check) / schedules (racefarm) up to and including the first with an expected oracle, per campaign; null = none within the cap. */
  runs: Summary;
  ms: Summary;
  /** Runs per second over every search of this side (one core). */
  runsPerSec: number;
  stepsPerRun: number;
  perCampaign: { campaign: number; runs: number | null; ms: number }[];
}

export interface FastCheckRaceRow {
  scenario: string;
  variant: string;
  cap: number;
  campaigns: number;
  searches: FastCheckSearch[];
  /** fc.scheduler only: tasks it released for a thread that was blocked at that point, per decision. */
  blockedReleaseShare: number;
}

export interface FastCheckRow {
  /** The first race (cow-two-pages): kept at the top level for the plot. */
  race: string;
  variant: string;
  cap: number;
  campaigns: number;
  /** fc.scheduler's runs to the first finding on the first race. */
  runs: Summary;
  ms: Summary;
  stepsPerRun: number;
  runsPerSec: number;
  /** Sanity: fc.scheduler on the first race under a correct preset: runs and failures (must be 0). */
  correct: { variant: string; runs: number; failures: number };
  perCampaign: { campaign: number; runs: number | null; ms: number }[];
  /** Every race measured, each side with the same cap and campaigns. */
  races: FastCheckRaceRow[];
}

/** The races of figure 5: cow-two-pages (the README's example) and a few with other shapes. */
export const FASTCHECK_RACES = ['cow-two-pages', 'zap-gather-free', 'kvm-stale-spte', 'reclaim-zap-stale-tlb', 'kvm-apic-access-migrate'] as const;

interface Setup {
  sc: CompiledScenario;
  variant: Variant;
  sim: Simulator;
  expected: ReadonlySet<string>;
  kSteps: number;
}

function setup(scenario: string, variantName?: string): Setup {
  const entry = catalogEntry(scenario);
  if (!entry) throw new Error(`unknown scenario ${scenario}`);
  const sc = compileScenario(entry.scenario);
  const variant = PRESETS.get(variantName ?? entry.buggyVariant)!;
  return { sc, variant, sim: new Simulator(sc, variant.sites), expected: new Set(entry.expect), kSteps: estimateSteps(sc, variant.sites) };
}

const hits = (st: Setup, oracles: readonly { oracle: OracleName }[]): boolean => oracles.some((v) => st.expected.has(v.oracle));

/** fast-check: one fc.check of `cap` runs from seed `seed`, stopping at the first failing run. */
function fcSearch(st: Setup, seed: number, cap: number, count: { steps: number; runs: number; decisions: number; blocked: number }): number | null {
  const d = fc.check(
    fc.property(fc.scheduler(), (s) => {
      const ch = new FastCheckChooser(s);
      const r = st.sim.run(ch);
      count.steps += r.steps;
      count.runs++;
      count.decisions += r.decisions.length;
      count.blocked += ch.blockedReleases;
      return !hits(st, r.violations);
    }),
    // endOnFailure: report the failing run as found, do not shrink (fast-check cannot shrink a scheduler anyway).
    { seed, numRuns: cap, endOnFailure: true },
  );
  return d.failed ? d.numRuns : null;
}

/** racefarm: seeds [start, start + cap) of a strategy, stopping at the first with an expected oracle. */
function rfSearch(st: Setup, spec: StrategySpec, start: number, cap: number, count: { steps: number; runs: number }): number | null {
  const threads = threadCount(st.sc);
  for (let i = 0; i < cap; i++) {
    const r = st.sim.run(makeChooser(spec, start + i, threads));
    count.steps += r.steps;
    count.runs++;
    if (hits(st, r.violations)) return i + 1;
  }
  return null;
}

function measureRace(scenario: string, campaigns: number, cap: number): FastCheckRaceRow {
  const st = setup(scenario);
  type Count = { steps: number; runs: number; decisions: number; blocked: number };
  const sides: { side: FastCheckSide; search: (k: number, n: number, count: Count) => number | null }[] = [
    { side: 'fc.scheduler', search: (k, n, c) => fcSearch(st, k * CAMPAIGN_STRIDE + 1, n, c) },
    { side: 'racefarm random', search: (k, n, c) => rfSearch(st, { name: 'random', depth: 3, kSteps: st.kSteps }, k * CAMPAIGN_STRIDE, n, c) },
    { side: 'racefarm pct auto', search: (k, n, c) => rfSearch(st, { name: 'pct', depth: PCT_AUTO_DEPTH, kSteps: st.kSteps }, k * CAMPAIGN_STRIDE, n, c) },
  ];
  const searches: FastCheckSearch[] = [];
  let blockedShare = 0;
  for (const { side, search } of sides) {
    search(999, Math.min(cap, 300), { steps: 0, runs: 0, decisions: 0, blocked: 0 }); // warm-up (JIT), a campaign no search uses
    const count: Count = { steps: 0, runs: 0, decisions: 0, blocked: 0 };
    const per: FastCheckSearch['perCampaign'] = [];
    let ms = 0;
    for (let k = 0; k < campaigns; k++) {
      const t0 = performance.now();
      const runs = search(k, cap, count);
      const dt = performance.now() - t0;
      ms += dt;
      per.push({ campaign: k, runs, ms: dt });
    }
    if (side === 'fc.scheduler') blockedShare = count.decisions > 0 ? count.blocked / (count.decisions + count.blocked) : 0;
    searches.push({
      side,
      runs: summarize(per.map((p) => p.runs)),
      ms: summarize(per.map((p) => (p.runs === null ? null : p.ms))),
      runsPerSec: (count.runs / ms) * 1000,
      stepsPerRun: count.steps / Math.max(1, count.runs),
      perCampaign: per,
    });
  }
  return { scenario: st.sc.name, variant: st.variant.name, cap, campaigns, searches, blockedReleaseShare: blockedShare };
}

export function measureFastCheck(campaigns: number, cap: number, correctRuns: number, races: readonly string[] = FASTCHECK_RACES): FastCheckRow {
  const rows = races.map((r) => measureRace(r, campaigns, cap));
  const first = rows[0];
  const fcs = first.searches.find((s) => s.side === 'fc.scheduler')!;
  // Sanity: the same adapter under a correct preset of the first race finds nothing.
  const entry = catalogEntry(first.scenario)!;
  const correctVariant = entry.correct[0];
  const ok = setup(first.scenario, correctVariant);
  const d = fc.check(
    fc.property(fc.scheduler(), (s) => ok.sim.run(new FastCheckChooser(s)).violations.length === 0),
    { seed: 7, numRuns: correctRuns, endOnFailure: true },
  );
  return {
    race: first.scenario,
    variant: first.variant,
    cap,
    campaigns,
    runs: fcs.runs,
    ms: fcs.ms,
    stepsPerRun: fcs.stepsPerRun,
    runsPerSec: fcs.runsPerSec,
    correct: { variant: correctVariant, runs: d.numRuns, failures: d.failed ? 1 : 0 },
    perCampaign: fcs.perCampaign,
    races: rows,
  };
}
