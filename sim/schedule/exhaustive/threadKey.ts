/**
 * Thread program state for the stateful search's key, without looking inside the generators.
 *
 * A thread is a generator (sim/thread.ts) whose locals cannot be read. What fixes them exactly is
 * its history: a generator is deterministic (sim/ has no randomness, no clock, no I/O), so its
 * state after n steps is a function of what its n steps saw. Two observations are exact:
 * - 'observed' (the default): the sequence of values each step read (observe.ts);
 * - 'world': the id of the whole World state each step ran in — coarser: a step of another thread
 *   on another page changes the World the next step of this one runs in, so the two orders of
 *   independent steps leave different histories (measured: it merges almost nothing).
 * Histories are interned as a chain, history' = intern(history, observation): two threads with the
 * same history id are in the same program state — collision-free, as interning compares exactly.
 */
export class ThreadHistories {
  private readonly ids = new Map<number, Map<number | string, number>>();
  private next = 1;

  /**
   * hist[t] becomes the history of thread t after one more step, whose observation was `obs`: the
   * id of the World state it ran in, or the encoded values it read (observe.ts).
   */
  advance(hist: Int32Array, t: number, obs: number | string): void {
    const h = hist[t];
    let m = this.ids.get(h);
    if (m === undefined) {
      m = new Map();
      this.ids.set(h, m);
    }
    let v = m.get(obs);
    if (v === undefined) {
      v = this.next++;
      m.set(obs, v);
    }
    hist[t] = v;
  }

  /** The key of a search state: the World, the thread that ran last, every thread's history. */
  key(world: number, last: number, hist: Int32Array): string {
    let s = `${world}:${last}`;
    for (let i = 0; i < hist.length; i++) s += `,${hist[i]}`;
    return s;
  }
}
