import { runOnce, type StepObserver } from '../run.ts';
import type { CompiledScenario } from '../scenario/compiled.ts';
import type { Sites } from '../variants/sites.ts';
import type { Chooser } from './chooser.ts';
import type { SimThread } from '../thread.ts';
import type { World } from '../world.ts';
import { Footprint, FootprintRecorder } from './footprint.ts';
import { NOT_A_RACE, type Violation } from '../oracles/violation.ts';
import { FINDING_FORMAT, violationSignature, type Finding } from '../finding.ts';
import type { Variant } from '../variants/presets.ts';
import { SIM_VERSION } from '../version.ts';
import { oracleClass } from '../oracles/classes.ts';

export interface ExhaustiveOptions {
  /** Preemption bound K: switching away from a thread that could go on counts one. */
  readonly bound: number;
  /** Sleep-set partial-order reduction over recorded step footprints. */
  readonly reduction: boolean;
  /** Stop at the first schedule on which a race oracle fires. */
  readonly stopAtFirst: boolean;
  /** With stopAtFirst: stop only when one of these oracles fires (default: any race oracle). */
  readonly target?: readonly string[];
  /** Safety cap on executions; the result says complete: false when it is hit. */
  readonly maxSchedules: number;
}

export interface ExhaustiveResult {
  /** Every schedule within the bound was covered (up to equivalence when reducing). */
  readonly complete: boolean;
  /** Executions run to the end. */
  readonly schedules: number;
  /** Executions cut short because every continuation was equivalent to an explored one. */
  readonly pruned: number;
  readonly bound: number;
  readonly reduction: boolean;
  /** Distinct verdicts seen: the sorted oracle names of a schedule, "" for a clean one. */
  readonly verdicts: readonly string[];
  /** The first schedule on which a race oracle fired. */
  readonly finding: {
    readonly decisions: readonly number[];
    readonly violations: readonly Violation[];
    readonly steps: number;
    readonly threadNames: readonly string[];
  } | null;
}

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
      };
      const c = firstAllowed(frame, this.bound);
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
  const stack: Frame[] = [];
  const verdicts = new Set<string>();
  let schedules = 0;
  let pruned = 0;
  for (;;) {
    if (schedules + pruned >= opts.maxSchedules) {
      return { complete: false, schedules, pruned, bound: opts.bound, reduction: opts.reduction, verdicts: [...verdicts].sort(), finding: null };
    }
    const exec = new DfsExecution(stack, opts.bound, opts.reduction);
    const r = runOnce(sc, sites, exec, { observer: exec });
    exec.finish();
    if (r.pruned) {
      pruned++;
    } else {
      schedules++;
      const names = [...new Set(r.violations.map((v) => v.oracle))].sort();
      verdicts.add(names.join(','));
      const hit = (o: Violation['oracle']) => (opts.target ? opts.target.includes(o) : !NOT_A_RACE.has(o));
      if (opts.stopAtFirst && r.violations.some((v) => hit(v.oracle))) {
        return {
          complete: false,
          schedules,
          pruned,
          bound: opts.bound,
          reduction: opts.reduction,
          verdicts: [...verdicts].sort(),
          finding: { decisions: r.decisions, violations: r.violations, steps: r.steps, threadNames: r.threadNames },
        };
      }
    }
    // Backtrack to the deepest point with an unexplored, allowed choice.
    for (;;) {
      const top = stack[stack.length - 1];
      if (top === undefined) {
        return { complete: true, schedules, pruned, bound: opts.bound, reduction: opts.reduction, verdicts: [...verdicts].sort(), finding: null };
      }
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
      strategy: { name: 'exhaustive', depth: r.bound, kSteps: 0 },
      seed: r.schedules - 1,
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
