import type { Chooser } from '../schedule/chooser.ts';
import type { SimThread } from '../thread.ts';

/**
 * Schedules as the shrinker edits them. A run is described by its *step sequence*: the thread id
 * of every step, and the scenario op (index in that thread's ops; -1 for the IOMMU fault worker)
 * the step belonged to. Removing a thread or an op removes its steps from the sequence and keeps
 * the others in the same relative order, which stays meaningful after the edit, where positional
 * decisions would not.
 */
export interface StepSequence {
  readonly threads: readonly number[];
  readonly ops: readonly number[];
}

/**
 * Follows a step sequence as closely as the edited scenario allows: at each point it runs the
 * enabled thread whose next step comes earliest in the sequence (thread t's k-th step is at the
 * position of the k-th occurrence of t). Threads with no step left in the sequence come last, in
 * the no-preemption order of ReplayChooser (the thread that ran last, else the lowest id). Given
 * the sequence of a run of the same scenario, it reproduces that run exactly.
 */
export class SequenceChooser implements Chooser {
  /** positions[t] = global indices of thread t's steps in the sequence. */
  private readonly positions: number[][];
  private readonly done: number[];
  private last = -1;

  constructor(threads: readonly number[], threadCount: number) {
    this.positions = Array.from({ length: threadCount }, () => []);
    this.done = new Array<number>(threadCount).fill(0);
    threads.forEach((t, i) => {
      if (t >= 0 && t < threadCount) this.positions[t].push(i);
    });
  }

  private next(t: number): number {
    const ps = this.positions[t];
    const k = this.done[t];
    return ps !== undefined && k < ps.length ? ps[k] : Infinity;
  }

  pick(enabled: readonly SimThread[], count: number): SimThread {
    let chosen = enabled[0];
    if (count > 1) {
      let best = Infinity;
      let found = false;
      for (let i = 0; i < count; i++) {
        const pos = this.next(enabled[i].id);
        if (pos < best) {
          best = pos;
          chosen = enabled[i];
          found = true;
        }
      }
      if (!found) for (let i = 0; i < count; i++) if (enabled[i].id === this.last) chosen = enabled[i];
    }
    if (chosen.id < this.done.length) this.done[chosen.id]++;
    this.last = chosen.id;
    return chosen;
  }
}

/**
 * Wraps a chooser and records the run it drives: the step sequence, and at every decision point
 * (two or more enabled threads) the *default* choice — the thread that ran last if it is enabled,
 * else the lowest id, which is what ReplayChooser picks when the record says nothing. A decision
 * that differs from its default is a preemption (or a non-default switch) that the schedule needs.
 */
export class RecordingChooser implements Chooser {
  readonly threads: number[] = [];
  readonly ops: number[] = [];
  readonly defaults: number[] = [];
  private readonly inner: Chooser;
  private last = -1;

  constructor(inner: Chooser) {
    this.inner = inner;
  }

  pick(enabled: readonly SimThread[], count: number, step: number): SimThread | null {
    if (count > 1) {
      let def = enabled[0].id;
      for (let i = 0; i < count; i++) if (enabled[i].id === this.last) def = this.last;
      this.defaults.push(def);
    }
    const t = this.inner.pick(enabled, count, step);
    if (t === null) return null;
    // t.op is the op the step about to run belongs to (the generator set it before yielding).
    this.threads.push(t.id);
    this.ops.push(t.op);
    this.last = t.id;
    return t;
  }

  sequence(): StepSequence {
    return { threads: this.threads, ops: this.ops };
  }
}

/** Indices of the decisions that are not the default: the schedule's preemptions. */
export function preemptionIndices(decisions: readonly number[], defaults: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < decisions.length; i++) if (decisions[i] !== defaults[i]) out.push(i);
  return out;
}

/** The decisions with the given ones replaced by their defaults ("removing" those preemptions). */
export function withDefaults(decisions: readonly number[], defaults: readonly number[], drop: Iterable<number>): number[] {
  const out = decisions.slice();
  for (const i of drop) out[i] = defaults[i];
  return out;
}

/** The sequence without thread `t`'s steps; later thread ids (including the fault worker) shift down. */
export function sequenceWithoutThread(seq: StepSequence, t: number): StepSequence {
  const threads: number[] = [];
  const ops: number[] = [];
  for (let i = 0; i < seq.threads.length; i++) {
    const id = seq.threads[i];
    if (id === t) continue;
    threads.push(id > t ? id - 1 : id);
    ops.push(seq.ops[i]);
  }
  return { threads, ops };
}

/** The sequence without the steps of op `o` of thread `t`; that thread's later ops shift down. */
export function sequenceWithoutOp(seq: StepSequence, t: number, o: number): StepSequence {
  const threads: number[] = [];
  const ops: number[] = [];
  for (let i = 0; i < seq.threads.length; i++) {
    const id = seq.threads[i];
    const op = seq.ops[i];
    if (id === t && op === o) continue;
    threads.push(id);
    ops.push(id === t && op > o ? op - 1 : op);
  }
  return { threads, ops };
}
