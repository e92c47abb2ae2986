import { runOnce, type StepObserver } from '../run.ts';
import type { CompiledScenario } from '../scenario/compiled.ts';
import type { Sites } from '../variants/sites.ts';
import type { Chooser } from './chooser.ts';
import type { SimThread } from '../thread.ts';
import type { World } from '../world.ts';
import { Footprint, FootprintRecorder } from './footprint.ts';
import { NOT_A_RACE } from '../oracles/violation.ts';
import { FINDING_FORMAT, violationSignature, type Finding } from '../finding.ts';
import type { Variant } from '../variants/presets.ts';
import { SIM_VERSION } from '../version.ts';
import { oracleClass } from '../oracles/classes.ts';
import type { ExhaustiveResult, SearchControl, SearchProgress } from './exhaustive/types.ts';
import { VerdictTally } from './exhaustive/verdicts.ts';
import { statefulSearch } from './exhaustive/stateful.ts';

export interface ExhaustiveOptions {
  /** Preemption bound K: switching away from a thread that could go on counts one. Infinity: unbounded. */
  readonly bound: number;
  /** Sleep-set partial-order reduction over recorded step footprints (stateless DFS only). */
  readonly reduction: boolean;
  /**
   * Stateful search (sim/schedule/exhaustive/stateful.ts): prune every (state, last thread)
   * already explored with at least the preemption budget left. Ignores `reduction`.
   */
  readonly stateful?: boolean;
  /** Stateful: what keys a thread's program state (sim/schedule/exhaustive/threadKey.ts). */
  readonly threadState?: 'observed' | 'world';
  /** Stateful, 'observed': replay through the recording views too (the check that replaying on the raw arrays changes nothing). */
  readonly replayViews?: boolean;
  /** Stateful: cap on distinct states kept (complete: false, stopped: 'max-states' when hit). */
  readonly maxStates?: number;
  /** Progress reports and a stop request from the caller (cli/ passes its clock and SIGINT in). */
  readonly control?: SearchControl;
  /** Stop at the first schedule on which a race oracle fires. */
  readonly stopAtFirst: boolean;
  /** With stopAtFirst: stop only when one of these oracles fires (default: any race oracle). */
  readonly target?: readonly string[];
  /** Safety cap on executions; the result says complete: false when it is hit. */
  readonly maxSchedules: number;
  /**
   * Search only the schedules whose decisions start with these (thread ids at the points where two
   * or more threads are enabled, as in RunResult.decisions): the subtree below one prefix of
   * exhaustivePrefixes(). The prefix's own preemptions count against the bound.
   */
  readonly prefix?: readonly number[];
}

export type { ExhaustiveResult, SearchControl, SearchProgress, VerdictExample } from './exhaustive/types.ts';

/** A point of the current path where two or more threads were enabled. */
interface Frame {
  readonly enabled: readonly number[];
  /** Thread that ran the step before this point, -1 at the start. */
  readonly last: number;
  /** Preemptions spent on the path before this point. */
  readonly preemptions: number;
  /** Threads whose step here is known to lead only to explored states, with that step's footprint. */
  readonly sleep: ReadonlyMap<number, Footprint>;
  /** Choices whose subtrees are explored, with the footprint of their step from here. */
  readonly done: Map<number, Footprint>;
  chosen: number;
  chosenFootprint: Footprint | null;
  /** A decision of the prefix: never backtracked. */
  readonly fixed: boolean;
}

const EMPTY = new Footprint();

/**
 * One execution of the depth-first search: replays the stack's choices, then extends the path
 * with the default choice (keep running the last thread, else the lowest id) at each new point,
 * and tracks sleep sets (Godefroid): after exploring thread u from state s, u sleeps in sibling
 * subtrees as long as only steps independent of u's step run — any order of those is equivalent.
 */
class DfsExecution implements Chooser, StepObserver {
  private depth = 0;
  private sleep: Map<number, Footprint> = new Map();
  private last = -1;
  private preemptions = 0;
  private pendingFrame = -1;
  /** Thread of the step that ran and whose footprint is still open, -1 if none. */
  private ran = -1;
  private readonly recorder: FootprintRecorder | null;

  constructor(
    private readonly stack: Frame[],
    private readonly bound: number,
    reduction: boolean,
    private readonly prefix: readonly number[] = [],
  ) {
    this.recorder = reduction ? new FootprintRecorder() : null;
  }

  init(w: World): void {
    this.recorder?.install(w);
  }

  /** Called after each step; its footprint is closed at the next pick, so it includes the oracle checks that follow it. */
  step(_w: World, t: SimThread): void {
    this.ran = t.id;
  }

  /**
   * Closes the footprint of the step that just ran (its effects, the oracle checks after it, and
   * the gate checks before the next pick) and moves the sleep set past it.
   */
  finish(): void {
    if (this.ran < 0) return;
    const f = this.recorder ? this.recorder.take() : EMPTY;
    const ran = this.ran;
    this.ran = -1;
    const next = new Map<number, Footprint>();
    if (this.pendingFrame >= 0) {
      const frame = this.stack[this.pendingFrame];
      frame.chosenFootprint = f;
      if (this.recorder) {
        frame.sleep.forEach((fu, u) => {
          if (u !== ran && fu.independentOf(f)) next.set(u, fu);
        });
        frame.done.forEach((fu, u) => {
          if (u !== ran && fu.independentOf(f)) next.set(u, fu);
        });
      }
    } else if (this.recorder) {
      this.sleep.forEach((fu, u) => {
        if (u !== ran && fu.independentOf(f)) next.set(u, fu);
      });
    }
    this.sleep = next;
    this.last = ran;
  }

  pick(enabled: readonly SimThread[], count: number): SimThread | null {
    this.finish();
    if (count === 1) {
      this.pendingFrame = -1;
      // The only enabled thread is asleep: this whole continuation is covered already.
      return this.sleep.has(enabled[0].id) ? null : enabled[0];
    }
    let frame: Frame;
    if (this.depth < this.stack.length) {
      frame = this.stack[this.depth];
    } else {
      frame = {
        enabled: enabled.slice(0, count).map((t) => t.id),
        last: this.last,
        preemptions: this.preemptions,
        sleep: this.sleep,
        done: new Map(),
        chosen: -1,
        chosenFootprint: null,
        fixed: this.depth < this.prefix.length,
      };
      const c = frame.fixed ? prefixChoice(frame, this.prefix[this.depth], this.bound) : firstAllowed(frame, this.bound);
      if (c < 0) return null;
      frame.chosen = c;
      this.stack.push(frame);
    }
    this.pendingFrame = this.depth++;
    if (frame.chosen !== frame.last && frame.enabled.includes(frame.last)) this.preemptions++;
    for (let i = 0; i < count; i++) if (enabled[i].id === frame.chosen) return enabled[i];
    throw new Error(`model bug: replayed choice ${frame.chosen} not enabled (non-deterministic step?)`);
  }
}

function allowed(frame: Frame, c: number, bound: number): boolean {
  if (frame.done.has(c) || frame.sleep.has(c)) return false;
  const preempts = c !== frame.last && frame.enabled.includes(frame.last);
  return !preempts || frame.preemptions < bound;
}

/** A prefix decision must name an enabled thread and fit the bound; -1 (pruned) if it does not fit. */
function prefixChoice(frame: Frame, c: number, bound: number): number {
  if (!frame.enabled.includes(c)) throw new Error(`prefix: decision ${c} names no enabled thread (enabled: ${frame.enabled.join(', ')})`);
  return allowed(frame, c, bound) ? c : -1;
}

/** Unexplored choices on the stack within the bound (the frontier of a partial result). */
function frontierOf(stack: readonly Frame[], bound: number): number {
  let n = 0;
  for (const f of stack) {
    if (f.fixed) continue;
    for (const c of f.enabled) if (c !== f.chosen && allowed(f, c, bound)) n++;
  }
  return n;
}

/** The default first: continue the last thread (no preemption), then ascending ids. */
function firstAllowed(frame: Frame, bound: number): number {
  if (frame.enabled.includes(frame.last) && allowed(frame, frame.last, bound)) return frame.last;
  for (const c of frame.enabled) if (allowed(frame, c, bound)) return c;
  return -1;
}

/**
 * Depth-first search over all schedules with at most `bound` preemptions. With `reduction`, two
 * orders of steps that touch nothing in common are explored once. Reports the first race found
 * (stopAtFirst) or a certificate: complete, with the number of schedules it took.
 */
export function exhaustive(sc: CompiledScenario, sites: Sites, opts: ExhaustiveOptions): ExhaustiveResult {
  const it = exhaustiveSearch(sc, sites, opts);
  for (;;) {
    const r = it.next();
    if (r.done === true) return r.value;
  }
}

/**
 * The search as a generator: it yields its progress every `control.every` executions (256 by
 * default) and returns the result, so that a caller (cli/) can give its event loop a turn — a
 * SIGINT handler, a progress line — between slices of a synchronous search.
 */
export function* exhaustiveSearch(sc: CompiledScenario, sites: Sites, opts: ExhaustiveOptions): Generator<SearchProgress, ExhaustiveResult, void> {
  if (opts.stateful === true) return yield* statefulSearch(sc, sites, opts);
  const stack: Frame[] = [];
  const tally = new VerdictTally(opts.target);
  let schedules = 0;
  let pruned = 0;
  const control = opts.control;
  const every = control?.every ?? 256;
  const result = (complete: boolean, stopped: ExhaustiveResult['stopped']): ExhaustiveResult => ({
    complete,
    stopped,
    schedules,
    pruned,
    states: 0,
    worldStates: 0,
    frontier: complete ? 0 : frontierOf(stack, opts.bound),
    bound: opts.bound,
    reduction: opts.reduction,
    stateful: false,
    verdicts: tally.verdicts,
    examples: tally.examples,
    finding: tally.finding,
  });
  for (;;) {
    if (schedules + pruned >= opts.maxSchedules) return result(false, 'max-schedules');
    if ((schedules + pruned) % every === 0 && schedules + pruned > 0) {
      const p = { schedules, pruned, states: 0, frontier: frontierOf(stack, opts.bound) };
      control?.progress?.(p);
      if (control?.shouldStop?.() === true) return result(false, 'aborted');
      yield p;
    }
    const exec = new DfsExecution(stack, opts.bound, opts.reduction, opts.prefix);
    const r = runOnce(sc, sites, exec, { observer: exec });
    exec.finish();
    if (r.pruned) {
      pruned++;
    } else {
      schedules++;
      if (tally.record(r, schedules - 1) && opts.stopAtFirst) return result(false, 'finding');
    }
    // Backtrack to the deepest point with an unexplored, allowed choice.
    for (;;) {
      const top = stack[stack.length - 1];
      if (top === undefined || top.fixed) return result(true, 'complete');
      if (top.chosenFootprint !== null) top.done.set(top.chosen, top.chosenFootprint);
      const next = firstAllowed(top, opts.bound);
      if (next >= 0) {
        top.chosen = next;
        top.chosenFootprint = null;
        break;
      }
      stack.pop();
    }
  }
}

/**
 * The finding file of an exhaustive search's first race: the schedule is its decisions (the
 * "seed" is the index of the schedule in the search order), so `repro` replays it like any other.
 */
export function exhaustiveFindings(sc: CompiledScenario, variant: Variant, r: ExhaustiveResult): Finding[] {
  const found = r.finding;
  if (found === null) return [];
  return found.violations
    .filter((v) => !NOT_A_RACE.has(v.oracle))
    .map((v) => ({
      format: FINDING_FORMAT,
      simVersion: SIM_VERSION,
      scenario: sc.source,
      variant: { name: variant.name, sites: variant.sites },
      // depth: the preemption bound; -1 for an unbounded search (a finding file holds integers only).
      strategy: { name: 'exhaustive', depth: Number.isFinite(r.bound) ? r.bound : -1, kSteps: 0 },
      seed: found.schedule,
      decisions: found.decisions,
      oracle: v.oracle,
      class: oracleClass(v.oracle),
      message: v.message,
      step: v.step,
      steps: found.steps,
      signature: violationSignature(v, variant.name, variant.sites),
      participants: v.participants,
      threads: found.threadNames,
    }));
}
