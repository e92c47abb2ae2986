/**
 * A hand-written schedule for kernel-path tests (not a test file itself): run one named thread
 * until its last step's label matches, then the next, and so on; a segment whose thread blocks
 * (or finishes) before its label ends early. After the plan, the lowest enabled id runs.
 */
import type { Chooser } from '../../sim/schedule/chooser.ts';
import type { SimThread } from '../../sim/thread.ts';
import type { World } from '../../sim/world.ts';
import type { StepObserver } from '../../sim/run.ts';

export interface Segment {
  readonly thread: string;
  /** Stop after the step whose label matches (substring or regular expression); omitted: run while enabled. */
  readonly until?: string | RegExp;
}

export class PlanChooser implements Chooser {
  private i = 0;
  private started = false;
  /** Segments whose label was reached (a test asserts the plan really happened). */
  readonly reached: string[] = [];
  constructor(private readonly plan: readonly Segment[]) {}

  pick(enabled: readonly SimThread[], count: number): SimThread {
    while (this.i < this.plan.length) {
      const seg = this.plan[this.i];
      const t = enabled.slice(0, count).find((x) => x.name === seg.thread);
      // A segment's label counts as reached even when its thread then blocks on a gate.
      const hit = this.started && seg.until !== undefined && matches(this.lastLabel, seg.until);
      if (hit) this.reached.push(`${seg.thread}: ${this.lastLabel}`);
      if (t === undefined || hit) {
        this.i++;
        this.started = false;
        continue;
      }
      this.started = true;
      this.current = t;
      return t;
    }
    return enabled[0];
  }

  private current: SimThread | null = null;
  private get lastLabel(): string {
    return this.current?.label ?? '';
  }
}

function matches(label: string, want: string | RegExp): boolean {
  return typeof want === 'string' ? label.includes(want) : want.test(label);
}

/** An observer that keeps the run's World, to inspect the final state. */
export function keepWorld(): { observer: StepObserver; world: () => World } {
  let w: World | null = null;
  return {
    observer: { init: (x) => (w = x), step: () => {} },
    world: () => {
      if (w === null) throw new Error('test bug: the run never started');
      return w;
    },
  };
}
