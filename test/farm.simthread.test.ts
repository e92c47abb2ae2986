import assert from 'node:assert/strict';
import { SimBusy, SimThread } from '../coordinator/simThread.ts';
import { livelockFinding } from './helpers/livelock.ts';

/**
 * The coordinator's simulation thread (a real worker thread) bounds memory as well as time: a
 * replay that outgrows the thread's heap limit ends that thread (RESOURCE_EXHAUSTED for its
 * caller), not the coordinator, and the next task runs on a new thread.
 */
describe('coordinator simulation thread: bounded memory', function () {
  this.timeout(60_000);

  it('a replay past the heap limit fails with SimBusy, the process lives, the next task runs', async () => {
    const big = livelockFinding(40_000);
    const small = livelockFinding(200);
    const sim = new SimThread({ maxMemoryMb: 64, timeoutMs: 50_000 });
    try {
      // The HTML of a 40,000-step run needs several hundred MB of state snapshots.
      await assert.rejects(sim.html(big, '', 1 << 30), (e: Error) => e instanceof SimBusy && /ran out of memory \(limit 64 MB\)/.test(e.message));
      const r = await sim.html(small, '', 1 << 30);
      assert.ok(r.html && r.html.includes('id="violation"'), r.reason);
    } finally {
      await sim.close();
    }
  });
});

describe('coordinator simulation thread: bounded time', function () {
  this.timeout(60_000);

  it('tasks that overrun the time limit one after another each fail with SimBusy: a stopped thread exiting late does not fail its successor\'s task', async () => {
    // The CI failure this pins: the second page request got 500 ("the simulation thread exited",
    // from the first, terminated thread) instead of 503.
    const f = livelockFinding(10_000);
    const sim = new SimThread({ timeoutMs: 1 });
    try {
      for (let i = 0; i < 5; i++) {
        await assert.rejects(sim.html(f, '', 1 << 30), (e: Error) => e instanceof SimBusy && /took longer than 1 ms/.test(e.message), `task ${i}`);
      }
      // Back to back, without waiting for one to be refused before asking again.
      const all = await Promise.allSettled([0, 1, 2, 3].map(() => sim.html(f, '', 1 << 30)));
      for (const r of all) assert.ok(r.status === 'rejected' && r.reason instanceof SimBusy, String(r.status === 'rejected' ? r.reason : 'resolved'));
    } finally {
      await sim.close();
    }
  });
});
