import { Simulator, type StepObserver } from '../../run.ts';
import type { CompiledScenario } from '../../scenario/compiled.ts';
import type { Sites } from '../../variants/sites.ts';
import type { Chooser } from '../chooser.ts';
import type { SimThread } from '../../thread.ts';
import type { World } from '../../world.ts';
import { WorldKey } from './worldKey.ts';
import { ThreadHistories } from './threadKey.ts';
import { StepObservations } from './observe.ts';
import type { ExhaustiveResult, SearchControl, SearchProgress } from './types.ts';
import { VerdictTally } from './verdicts.ts';

export interface StatefulOptions {
  /** Preemption bound K; Infinity searches every interleaving. */
  readonly bound: number;
  readonly stopAtFirst: boolean;
  readonly target?: readonly string[];
  /** Cap on executions (schedules + pruned); the result says complete: false when it is hit. */
  readonly maxSchedules: number;
  /** Cap on distinct states kept; the result says complete: false when it is hit. */
  readonly maxStates?: number;
  readonly prefix?: readonly number[];
  readonly control?: SearchControl;
  /** What keys a thread's program state (threadKey.ts): the values its steps read (default), or the World states they ran in. */
  readonly threadState?: 'observed' | 'world';
  /** 'observed': replayed steps run through the recording views too (observe.ts `enter`): a self-check, slower. */
  readonly replayViews?: boolean;
}

/** A point of the current path where two or more threads were enabled. */
interface Frame {
  readonly enabled: readonly number[];
  readonly last: number;
  readonly preemptions: number;
  /** Choices whose subtrees are explored or under way. */
  readonly tried: number[];
  chosen: number;
  /** Thread histories at this point (before the chosen step), to resume key-keeping after a replay. */
  readonly hist: Int32Array;
  /** Id of the World's state at this point. */
  readonly world: number;
  readonly fixed: boolean;
}

/**
 * The stateful search's memory: every (state, last thread) explored, with the largest preemption
 * budget it was explored with.
 *
 * Why pruning on it is sound under the preemption bound (unlike naive DPOR + bound, Coons et al.,
 * OOPSLA'13, where the backtrack points one bounded exploration computes miss orders the bound cut):
 * the continuations of a path that the bounded search must cover depend only on (a) the state —
 * World contents, every thread's program state, the oracles' state — which fixes what each step does
 * and which threads are enabled, (b) the thread that ran last, which fixes which choices are
 * preemptions, and (c) the budget left. The set of bounded continuations from (s, last) with budget
 * b is contained in the set with budget b' ≥ b. So once (s, last) was explored to the end with b',
 * every schedule through (s, last) with b ≤ b' left ends like one already run: the same verdicts.
 * The state includes the step count, so the state graph has no cycles and an entry is never
 * consulted while its own subtree is still being explored, except by a subtree below it, which
 * cannot reach it again.
 * No partial-order reduction here: sleep sets with state caching need the sleep set in the state
 * (Godefroid's condition), and measured, caching alone does better (docs in /work notes: bench).
 */
class Visited {
  private readonly best = new Map<string, number>();
  get size(): number {
    return this.best.size;
  }
  /** True if (key) was explored with a budget of at least `budget`; else records it with `budget`. */
  covered(key: string, budget: number): boolean {
    const b = this.best.get(key);
    if (b !== undefined && b >= budget) return true;
    this.best.set(key, budget);
    return false;
  }
}

class StatefulExecution implements Chooser, StepObserver {
  private depth = 0;
  private last = -1;
  private preemptions = 0;
  private keyer: WorldKey | null = null;
  private hist: Int32Array;
  /** Replaying the stack: no keys needed until the last frame. */
  private replaying: boolean;
  /** The step under way is the backtrack point's or a new one: its observation extends a history. */
  private keeping = false;
  private stepWorld = -1;
  pruned = false;

  constructor(
    private readonly stack: Frame[],
    private readonly bound: number,
    private readonly visited: Visited,
    private readonly threads: ThreadHistories,
    private readonly worldKeys: WorldKeys,
    private readonly prefix: readonly number[],
    threadCount: number,
    private readonly obs: StepObservations | null,
  ) {
    this.hist = new Int32Array(threadCount);
    this.replaying = stack.length > 0;
  }

  init(w: World): void {
    this.keyer = this.worldKeys.keyerFor(w);
    this.obs?.install(w);
  }

  start(): void {
    this.obs?.pause();
  }

  /** After the chosen step: extend its thread's history with what the step observed. */
  step(_w: World, t: SimThread): void {
    if (this.obs === null) {
      if (this.keeping) this.threads.advance(this.hist, t.id, this.stepWorld);
    } else if (this.keeping) {
      this.threads.advance(this.hist, t.id, this.obs.end());
    } else {
      this.obs.leave();
    }
    this.keeping = false;
  }

  private run(t: SimThread, keep: boolean, world: number): SimThread {
    this.keeping = keep;
    this.stepWorld = world;
    if (this.obs !== null) {
      if (keep) this.obs.begin(t.gate);
      else this.obs.enter();
    }
    return t;
  }

  pick(enabled: readonly SimThread[], count: number): SimThread | null {
    if (this.replaying) {
      if (count === 1) {
        this.last = enabled[0].id;
        return this.run(enabled[0], false, -1);
      }
      const frame = this.stack[this.depth++];
      let keep = false;
      if (this.depth === this.stack.length) {
        // The backtrack point: resume keeping histories from the frame's.
        this.replaying = false;
        this.hist = frame.hist.slice();
        keep = true;
      }
      return this.run(this.take(enabled, count, frame.chosen, frame.last, frame.enabled), keep, frame.world);
    }
    const world = this.worldKeys.id(this.keyer!.key());
    const key = this.threads.key(world, this.last, this.hist);
    const budget = this.bound - this.preemptions;
    if (this.visited.covered(key, budget)) {
      this.pruned = true;
      return null;
    }
    if (count === 1) {
      this.last = enabled[0].id;
      return this.run(enabled[0], true, world);
    }
    const ids: number[] = [];
    for (let i = 0; i < count; i++) ids.push(enabled[i].id);
    const fixed = this.depth < this.prefix.length;
    const frame: Frame = { enabled: ids, last: this.last, preemptions: this.preemptions, tried: [], chosen: -1, hist: this.hist.slice(), world, fixed };
    const c = fixed ? prefixChoice(frame, this.prefix[this.depth], this.bound) : nextChoice(frame, this.bound);
    if (c < 0) {
      this.pruned = true;
      return null;
    }
    frame.chosen = c;
    frame.tried.push(c);
    this.stack.push(frame);
    this.depth++;
    return this.run(this.take(enabled, count, c, frame.last, ids), true, world);
  }

  private take(enabled: readonly SimThread[], count: number, c: number, last: number, ids: readonly number[]): SimThread {
    if (c !== last && ids.includes(last)) this.preemptions++;
    this.last = c;
    for (let i = 0; i < count; i++) if (enabled[i].id === c) return enabled[i];
    throw new Error(`model bug: replayed choice ${c} not enabled (non-deterministic step?)`);
  }
}

/** Interns World keys: a state's id stands for its key in the thread histories and state keys. */
export class WorldKeys {
  private readonly ids = new Map<string, number>();
  private keyer: WorldKey | null = null;
  private world: World | null = null;
  keyerFor(w: World): WorldKey {
    if (this.world !== w) {
      this.world = w;
      this.keyer = new WorldKey(w);
    }
    return this.keyer!;
  }
  id(key: string): number {
    let v = this.ids.get(key);
    if (v === undefined) {
      v = this.ids.size;
      this.ids.set(key, v);
    }
    return v;
  }
  get size(): number {
    return this.ids.size;
  }
}

function preempts(frame: Frame, c: number): boolean {
  return c !== frame.last && frame.enabled.includes(frame.last);
}

function prefixChoice(frame: Frame, c: number, bound: number): number {
  if (!frame.enabled.includes(c)) throw new Error(`prefix: decision ${c} names no enabled thread (enabled: ${frame.enabled.join(', ')})`);
  return !preempts(frame, c) || frame.preemptions < bound ? c : -1;
}

/** The next untried choice within the bound: continue the last thread first, then ascending ids. */
function nextChoice(frame: Frame, bound: number): number {
  const lastOn = frame.enabled.includes(frame.last);
  if (lastOn && !frame.tried.includes(frame.last)) return frame.last;
  if (lastOn && frame.preemptions >= bound) return -1;
  for (const c of frame.enabled) if (!frame.tried.includes(c)) return c;
  return -1;
}

/** Unexplored choices on the stack (the frontier a partial result reports). */
function frontierOf(stack: readonly Frame[], bound: number): number {
  let n = 0;
  for (const f of stack) {
    if (f.fixed) continue;
    for (const c of f.enabled) if (!f.tried.includes(c) && (!preempts(f, c) || f.preemptions < bound)) n++;
  }
  return n;
}

/**
 * Stateful depth-first search over all schedules with at most `bound` preemptions: every
 * execution replays the current path on one reset World (a Simulator), then goes on with the
 * default choice at each new point until it reaches a (state, last thread) already explored with
 * at least the budget left — there it stops (pruned) — or the end of the run.
 */
export function* statefulSearch(sc: CompiledScenario, sites: Sites, opts: StatefulOptions): Generator<SearchProgress, ExhaustiveResult, void> {
  const sim = new Simulator(sc, sites);
  const threadCount = sc.threads.length + (sc.world.iommu !== 'none' ? 1 : 0);
  const stack: Frame[] = [];
  const visited = new Visited();
  const threads = new ThreadHistories();
  const worldKeys = new WorldKeys();
  const obs = (opts.threadState ?? 'observed') === 'observed' ? new StepObservations(opts.replayViews === true) : null;
  const tally = new VerdictTally(opts.target);
  const prefix = opts.prefix ?? [];
  const control = opts.control;
  const every = control?.every ?? 256;
  let schedules = 0;
  let pruned = 0;
  const result = (complete: boolean, stopped: ExhaustiveResult['stopped']): ExhaustiveResult => ({
    complete,
    stopped,
    schedules,
    pruned,
    states: visited.size,
    worldStates: worldKeys.size,
    frontier: complete ? 0 : frontierOf(stack, opts.bound),
    bound: opts.bound,
    reduction: false,
    stateful: true,
    verdicts: tally.verdicts,
    examples: tally.examples,
    finding: tally.finding,
  });
  for (;;) {
    if (schedules + pruned >= opts.maxSchedules) return result(false, 'max-schedules');
    if (opts.maxStates !== undefined && visited.size >= opts.maxStates) return result(false, 'max-states');
    if ((schedules + pruned) % every === 0 && schedules + pruned > 0) {
      const p = { schedules, pruned, states: visited.size, frontier: frontierOf(stack, opts.bound) };
      control?.progress?.(p);
      if (control?.shouldStop?.() === true) return result(false, 'aborted');
      yield p;
    }
    const exec = new StatefulExecution(stack, opts.bound, visited, threads, worldKeys, prefix, threadCount, obs);
    const r = sim.run(exec, { observer: exec });
    if (r.pruned) {
      pruned++;
    } else {
      schedules++;
      if (tally.record(r, schedules - 1) && opts.stopAtFirst) return result(false, 'finding');
    }
    // Backtrack to the deepest point with an untried choice within the bound.
    for (;;) {
      const top = stack[stack.length - 1];
      if (top === undefined || top.fixed) return result(true, 'complete');
      const next = nextChoice(top, opts.bound);
      if (next >= 0) {
        top.chosen = next;
        top.tried.push(next);
        break;
      }
      stack.pop();
    }
  }
}
