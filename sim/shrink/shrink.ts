import { compileScenario } from '../scenario/compile.ts';
import type { ScenarioJson } from '../scenario/compiled.ts';
import { parseVariantJson } from '../variants/resolve.ts';
import type { Sites } from '../variants/sites.ts';
import { runOnce, type RunResult } from '../run.ts';
import { ReplayChooser } from '../schedule/replay.ts';
import type { Chooser } from '../schedule/chooser.ts';
import { threadCount } from '../schedule/strategy.ts';
import { violationSignature, type Finding } from '../finding.ts';
import type { Violation } from '../oracles/violation.ts';
import {
  RecordingChooser,
  SequenceChooser,
  preemptionIndices,
  sequenceWithoutOp,
  sequenceWithoutThread,
  withDefaults,
  type StepSequence,
} from './schedule.ts';

export interface ShrinkOptions {
  /** Simulator runs the shrinker may spend (default 4000); it returns the best finding so far when they run out. */
  readonly maxRuns?: number;
}

export interface ShrinkStats {
  /** Simulator runs spent, including the initial replay. */
  runs: number;
  stepsBefore: number;
  stepsAfter: number;
  /** Scenario threads (the IOMMU fault worker is not counted: it is not in the scenario). */
  threadsBefore: number;
  threadsAfter: number;
  opsBefore: number;
  opsAfter: number;
  /** Decisions that differ from the no-preemption default. */
  preemptionsBefore: number;
  preemptionsAfter: number;
  /** The result is 1-minimal: the final pass removed nothing and ran within the budget. */
  minimal: boolean;
  /** The budget ran out before the result was shown 1-minimal. */
  budgetExhausted: boolean;
}

export interface ShrinkResult {
  readonly finding: Finding;
  readonly stats: ShrinkStats;
}

/** What must still happen for a candidate to count: the same oracle, with the same signature. */
export interface ShrinkTarget {
  readonly oracle: Finding['oracle'];
  readonly signature: string;
  readonly variantName: string;
  readonly sites: Sites;
}

/** One successful run of a candidate: its scenario, what it recorded, and the violation. */
export interface Probe {
  readonly scenario: ScenarioJson;
  readonly run: RunResult;
  readonly violation: Violation;
  readonly sequence: StepSequence;
  /** Decisions re-recorded from the run, and the default choice at each decision point. */
  readonly decisions: readonly number[];
  readonly defaults: readonly number[];
}

export function targetOf(f: Finding): ShrinkTarget {
  const variant = parseVariantJson({ sites: f.variant.sites, name: f.variant.name }, f.variant.name);
  return { oracle: f.oracle, signature: f.signature, variantName: f.variant.name, sites: variant.sites };
}

/**
 * Runs a scenario under a chooser and says whether the target fired. Returns null when the
 * scenario does not compile (an edit made it invalid), the oracle did not fire, or it fired with
 * another signature.
 */
export function probe(target: ShrinkTarget, scenario: ScenarioJson, make: (threads: number) => Chooser): Probe | null {
  let sc;
  try {
    sc = compileScenario(scenario);
  } catch {
    return null;
  }
  const rec = new RecordingChooser(make(threadCount(sc)));
  const run = runOnce(sc, target.sites, rec);
  const v = run.violations.find((x) => x.oracle === target.oracle);
  if (v === undefined || violationSignature(v, target.variantName, target.sites) !== target.signature) return null;
  return { scenario: sc.source, run, violation: v, sequence: rec.sequence(), decisions: run.decisions, defaults: rec.defaults };
}

// ---- candidate edits: each returns the scenario and the chooser a candidate runs with ----------

export interface Candidate {
  readonly scenario: ScenarioJson;
  readonly chooser: (threads: number) => Chooser;
}

function cloneScenario(s: ScenarioJson): ScenarioJson {
  return { ...s, world: { ...s.world }, pages: { ...s.pages }, devices: s.devices.map((d) => ({ ...d })), threads: s.threads.map((t) => ({ ...t, ops: t.ops.map((o) => [...o]) })) };
}

/** The scenario without thread `t`; the other threads keep the relative order of their steps. */
export function dropThread(p: Probe, t: number): Candidate | null {
  if (p.scenario.threads.length <= 1 || t < 0 || t >= p.scenario.threads.length) return null;
  const scenario = cloneScenario(p.scenario);
  scenario.threads.splice(t, 1);
  const seq = sequenceWithoutThread(p.sequence, t);
  return { scenario, chooser: (n) => new SequenceChooser(seq.threads, n) };
}

/** The scenario without op `o` of thread `t`; every other step keeps its relative order. */
export function dropOp(p: Probe, t: number, o: number): Candidate | null {
  const th = p.scenario.threads[t];
  if (th === undefined || o < 0 || o >= th.ops.length) return null;
  const scenario = cloneScenario(p.scenario);
  scenario.threads[t].ops.splice(o, 1);
  const seq = sequenceWithoutOp(p.sequence, t, o);
  return { scenario, chooser: (n) => new SequenceChooser(seq.threads, n) };
}

/**
 * The same scenario with the decisions at `indices` replaced by their defaults (continue the
 * thread that ran last): the preemptions there are removed, every other decision stays where it is.
 */
export function dropPreemptions(p: Probe, indices: Iterable<number>): Candidate {
  const decisions = withDefaults(p.decisions, p.defaults, indices);
  return { scenario: p.scenario, chooser: () => new ReplayChooser(decisions) };
}

export function preemptionsOf(p: Probe): number[] {
  return preemptionIndices(p.decisions, p.defaults);
}

export function opCount(s: ScenarioJson): number {
  return s.threads.reduce((a, t) => a + t.ops.length, 0);
}

/** Replays a finding's recorded decisions as a probe (null: it does not reproduce). */
export function probeFinding(f: Finding, target: ShrinkTarget = targetOf(f)): Probe | null {
  return probe(target, f.scenario, () => new ReplayChooser(f.decisions));
}

class Budget {
  runs = 0;
  constructor(readonly max: number) {}
  get left(): boolean {
    return this.runs < this.max;
  }
}

/**
 * Shrinks a finding (docs/findings.md): drop whole threads, then single ops, then preemptions by ddmin
 * over the decision points, then single preemptions, repeating ops and preemptions until no single
 * removal keeps the violation (1-minimal) or the run budget is spent. A candidate is kept only if
 * the same oracle fires with the same signature. Deterministic: no randomness, a fixed order of
 * candidates. Throws if the finding does not reproduce to begin with.
 */
export function shrinkFinding(f: Finding, opts: ShrinkOptions = {}): ShrinkResult {
  const budget = new Budget(opts.maxRuns ?? 4000);
  const target = targetOf(f);
  budget.runs++;
  const start = probeFinding(f, target);
  if (start === null) throw new Error(`shrink: finding ${f.signature} (${f.oracle}) does not reproduce`);
  let cur = start;
  let refused = 0;
  const tryCand = (c: Candidate | null): boolean => {
    if (c === null) return false;
    if (!budget.left) {
      refused++;
      return false;
    }
    budget.runs++;
    const p = probe(target, c.scenario, c.chooser);
    if (p === null) return false;
    cur = p;
    return true;
  };

  // 1. Threads, last first (removing a later thread leaves earlier ids alone).
  for (let t = cur.scenario.threads.length - 1; t >= 0 && budget.left; t--) tryCand(dropThread(cur, t));
  // 2. Ops, last first within each thread.
  dropOps(() => cur, tryCand);
  // 3. Preemptions: ddmin over the decision points that are not the default.
  ddminPreemptions(() => cur, tryCand, budget);
  // 4. Single removals until nothing more goes: ops (and emptied threads), then preemptions.
  let minimal = false;
  while (budget.left) {
    const refusedBefore = refused;
    let changed = false;
    for (let t = cur.scenario.threads.length - 1; t >= 0; t--) {
      if (cur.scenario.threads[t].ops.length === 0 && tryCand(dropThread(cur, t))) changed = true;
    }
    if (dropOps(() => cur, tryCand)) changed = true;
    for (;;) {
      const ps = preemptionsOf(cur);
      let removed = false;
      for (const i of ps) {
        if (tryCand(dropPreemptions(cur, [i]))) {
          removed = true;
          break;
        }
      }
      if (!removed) break;
      changed = true;
    }
    if (!changed) {
      // Only a pass that ran every candidate proves 1-minimality.
      minimal = refused === refusedBefore;
      break;
    }
  }

  const v = cur.violation;
  const finding: Finding = {
    ...f,
    scenario: cur.scenario,
    decisions: [...cur.decisions],
    message: v.message,
    step: v.step,
    steps: cur.run.steps,
    participants: v.participants,
    threads: cur.run.threadNames,
  };
  const before = start;
  return {
    finding,
    stats: {
      runs: budget.runs,
      stepsBefore: before.run.steps,
      stepsAfter: cur.run.steps,
      threadsBefore: before.scenario.threads.length,
      threadsAfter: cur.scenario.threads.length,
      opsBefore: opCount(before.scenario),
      opsAfter: opCount(cur.scenario),
      preemptionsBefore: preemptionsOf(before).length,
      preemptionsAfter: preemptionsOf(cur).length,
      minimal,
      budgetExhausted: !budget.left,
    },
  };
}

/** Tries removing each op, last thread and last op first; true if any removal was kept. */
function dropOps(cur: () => Probe, tryCand: (c: Candidate | null) => boolean): boolean {
  let any = false;
  for (let t = cur().scenario.threads.length - 1; t >= 0; t--) {
    for (let o = (cur().scenario.threads[t]?.ops.length ?? 0) - 1; o >= 0; o--) {
      if (tryCand(dropOp(cur(), t, o))) any = true;
    }
  }
  return any;
}

/**
 * ddmin (Zeller & Hildebrandt) over the preemption points: try removing chunks of them (each chunk's
 * complement is kept), halving the chunk size when no chunk can go. Every success re-records the
 * schedule, so the preemption list is recomputed from the new run.
 */
function ddminPreemptions(cur: () => Probe, tryCand: (c: Candidate | null) => boolean, budget: Budget): void {
  let n = 2;
  while (budget.left) {
    const ps = preemptionsOf(cur());
    if (ps.length === 0) return;
    if (n > ps.length) n = ps.length;
    const size = Math.ceil(ps.length / n);
    let reduced = false;
    for (let k = 0; k < ps.length && budget.left; k += size) {
      if (tryCand(dropPreemptions(cur(), ps.slice(k, k + size)))) {
        reduced = true;
        break;
      }
    }
    if (reduced) {
      n = Math.max(n - 1, 2);
      continue;
    }
    if (n >= ps.length) return;
    n = Math.min(2 * n, ps.length);
  }
}

/** Every single-step shrink of a probe: drop one op, or one preemption. What 1-minimal is about. */
export function singleRemovals(p: Probe): Candidate[] {
  const out: Candidate[] = [];
  p.scenario.threads.forEach((th, t) => {
    for (let o = 0; o < th.ops.length; o++) {
      const c = dropOp(p, t, o);
      if (c !== null) out.push(c);
    }
  });
  for (const i of preemptionsOf(p)) out.push(dropPreemptions(p, [i]));
  return out;
}
