import { World, SimLimit } from './world.ts';
import type { CompiledScenario } from './scenario/compiled.ts';
import type { Sites } from './variants/sites.ts';
import type { Chooser } from './schedule/chooser.ts';
import { createThreads } from './kernel/threads.ts';
import type { SimThread } from './thread.ts';
import type { Violation } from './oracles/violation.ts';
import type { TraceRow } from './trace/row.ts';
import type { OracleSelection } from './oracles/classes.ts';
import { WorldSnapshot } from './worldSnapshot.ts';

export interface RunResult {
  /** Steps executed. */
  readonly steps: number;
  /** Thread id chosen at each point where two or more threads were enabled. */
  readonly decisions: number[];
  /** First violation of each oracle that fired, in step order. */
  readonly violations: readonly Violation[];
  readonly threadNames: readonly string[];
  /** Present when the run was traced. */
  readonly trace: TraceRow[] | null;
  /** The chooser stopped the run before the threads finished (see Chooser.pick). */
  readonly pruned: boolean;
}

/**
 * Watches a run step by step (coverage features, per-step state snapshots for the HTML trace).
 * Optional: a run without one pays a single untaken branch per step.
 */
export interface StepObserver {
  /** Right after the World is built, before any thread exists (and so before any reference to its state is taken). */
  init?(w: World): void;
  /** After the World is built and the threads are primed, before the first step. */
  start?(w: World, threads: readonly SimThread[]): void;
  /** After each step's effects (and its trace row), before the oracles check the pages it touched. */
  step(w: World, t: SimThread): void;
}

export interface RunOptions {
  readonly trace?: boolean;
  /** Overrides the scenario's world.maxSteps. */
  readonly maxSteps?: number;
  readonly observer?: StepObserver;
  /**
   * The oracles whose violations the run reports (`fuzz --oracles`); default all. An oracle left out
   * still runs (oracles never steer a schedule) but its violation is not in the result, so it is no
   * finding, no count and no stop for a search.
   */
  readonly oracles?: OracleSelection;
}

/**
 * Runs one schedule of a scenario under a variant: builds a fresh World, then repeatedly asks the
 * chooser which enabled thread runs its next atomic step, checking the oracles after every step.
 * Pure: the same scenario, sites and chooser decisions give the same result on any machine.
 * Many runs of one scenario go faster through a Simulator, which resets one World instead.
 */
export function runOnce(scenario: CompiledScenario, sites: Sites, chooser: Chooser, opts: RunOptions = {}): RunResult {
  return execute(new World(scenario, sites, opts.trace === true), chooser, opts);
}

/**
 * Runs many schedules of one scenario under one variant on a single World that is reset between
 * runs (sim/worldSnapshot.ts: one buffer copy and a few field writes) instead of being built anew:
 * the result of every run is exactly runOnce's. Holds per-run state: one run at a time.
 */
export class Simulator {
  readonly scenario: CompiledScenario;
  readonly sites: Sites;
  private readonly worlds: [World | null, World | null] = [null, null];
  private readonly snapshots: [WorldSnapshot | null, WorldSnapshot | null] = [null, null];
  private readonly used = [false, false];

  constructor(scenario: CompiledScenario, sites: Sites) {
    this.scenario = scenario;
    this.sites = sites;
  }

  /** The World in its initial state (traced or not), built on first use and reset afterwards. */
  world(tracing: boolean): World {
    const i = tracing ? 1 : 0;
    let w = this.worlds[i];
    if (w === null) {
      w = new World(this.scenario, this.sites, tracing);
      this.worlds[i] = w;
      this.snapshots[i] = new WorldSnapshot(w);
    } else if (this.used[i]) {
      this.snapshots[i]!.restore();
    }
    this.used[i] = true;
    return w;
  }

  run(chooser: Chooser, opts: RunOptions = {}): RunResult {
    return execute(this.world(opts.trace === true), chooser, opts);
  }
}

/** One run on World `w`, which is in its initial state. */
export function execute(w: World, chooser: Chooser, opts: RunOptions = {}): RunResult {
  const scenario = w.scenario;
  const tracing = w.tracing;
  if (opts.observer?.init !== undefined) opts.observer.init(w);
  const threads = createThreads(w);
  const maxSteps = opts.maxSteps ?? scenario.world.maxSteps;
  const decisions: number[] = [];
  const trace: TraceRow[] | null = tracing ? [] : null;
  const enabled: SimThread[] = [];
  let pruned = false;
  // Prime every generator to its first yield: that runs no effects, it only reports the first gate.
  for (const t of threads) {
    const r = t.gen!.next();
    if (r.done) t.done = true;
    else t.gate = r.value;
  }
  const observer = opts.observer;
  if (observer?.start !== undefined) observer.start(w, threads);
  try {
    for (;;) {
      let live = 0;
      let count = 0;
      for (let i = 0; i < threads.length; i++) {
        const t = threads[i];
        if (t.done) continue;
        if (!t.daemon) live++;
        if (t.gate === null || t.gate.isOpen()) enabled[count++] = t;
      }
      if (live === 0) break;
      if (count === 0) {
        const blocked = threads.filter((t) => !t.done && !t.daemon).map((t) => `${t.name} (after ${t.label || 'start'})`);
        w.current = null;
        w.oracles.report('deadlock', -1, `no thread can run; waiting: ${blocked.join(', ')}`, blocked);
        break;
      }
      if (w.step >= maxSteps) {
        w.current = null;
        w.oracles.report('step-budget', -1, `the run exceeded ${maxSteps} steps`, []);
        break;
      }
      const t = chooser.pick(enabled, count, w.step);
      if (t === null) {
        // The strategy cut this schedule short (exhaustive search: every remaining order is
        // equivalent to one already explored). No end-of-run oracle applies to a cut run.
        pruned = true;
        break;
      }
      if (count > 1) decisions.push(t.id);
      w.current = t;
      const r = t.gen!.next();
      if (r.done) {
        t.done = true;
        t.gate = null;
      } else {
        t.gate = r.value;
      }
      if (trace !== null) {
        trace.push({ step: w.step, thread: t.id, label: t.label, page: t.page >= 0 ? w.pageName(t.page) : '', effects: w.effects.join('; ') });
        w.effects = [];
      }
      if (observer !== undefined) observer.step(w, t);
      w.oracles.checkTouched();
      w.step++;
    }
    w.current = null;
    if (!pruned) w.oracles.checkEnd();
  } catch (e) {
    if (!(e instanceof SimLimit)) throw e;
    w.current = null;
    w.oracles.report('step-budget', -1, e.message, []);
  }
  return {
    steps: w.step,
    decisions,
    violations: opts.oracles === undefined ? w.oracles.violations : w.oracles.violations.filter((v) => opts.oracles!.has(v.oracle)),
    threadNames: threads.map((t) => t.name),
    trace,
    pruned,
  };
}
