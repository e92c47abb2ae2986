import type { Chooser } from './chooser.ts';
import type { SimThread } from '../thread.ts';

/**
 * Replays recorded decisions (thread ids at each point with two or more enabled threads). When a
 * recorded thread is not enabled — the shrinker edits schedules — or the record runs out, it keeps
 * running the thread that ran last if it can, else the lowest id: the schedule with no preemption.
 */
export class ReplayChooser implements Chooser {
  private readonly decisions: readonly number[];
  private i = 0;
  private last = -1;
  /** Decision points where the record could not be followed. */
  diverged = 0;

  constructor(decisions: readonly number[]) {
    this.decisions = decisions;
  }

  pick(enabled: readonly SimThread[], count: number): SimThread {
    let chosen: SimThread | undefined;
    if (count > 1) {
      if (this.i < this.decisions.length) {
        const want = this.decisions[this.i++];
        for (let k = 0; k < count; k++) if (enabled[k].id === want) chosen = enabled[k];
        if (chosen === undefined) this.diverged++;
      }
      if (chosen === undefined) for (let k = 0; k < count; k++) if (enabled[k].id === this.last) chosen = enabled[k];
    }
    chosen ??= enabled[0];
    this.last = chosen.id;
    return chosen;
  }
}
