import assert from 'node:assert/strict';
import { TestFarm } from './helpers/testFarm.ts';
import { until } from './helpers/farm.ts';
import { keys } from '../farm/keys.ts';

/** Jobs in the cancelled campaign: on main, removing 20k jobs one by one took ~10 s before Cancel answered. */
const JOBS = 20_000;

describe('farm CancelCampaign answers at once and removes the queued jobs in the background', function () {
  this.timeout(60_000);
  let farm: TestFarm;

  before(async () => {
    // A client deadline of 5 s for unary calls: CancelCampaign must not wait for the removal.
    farm = await TestFarm.start({ timeoutMs: 5000 });
  });
  after(async () => farm?.stop());

  const queued = () => farm.queuedFuzzJobs();

  it(`cancels a ${JOBS}-job campaign within a 5 s deadline; its jobs leave the queue, a second campaign is untouched`, async () => {
    const big = await farm.client.startCampaign({ scenario_name: 'cow-two-pages', variant_preset: 'range-end-only', seed_count: String(JOBS), batch_size: 1 });
    const other = await farm.client.startCampaign({ scenario_name: 'cow-two-pages', variant_preset: 'range-end-only', seed_count: '3000', batch_size: 1000 });
    // The big one is enqueued in the background (see the next test): wait for all of it.
    await until(async () => (await farm.client.getCampaign(big.id)).state === 'running', 45_000, 'the big campaign enqueued', 200);
    assert.equal(await queued(), JOBS + 3);

    const c = await farm.client.cancelCampaign(big.id);
    assert.equal(c.state, 'cancelled');
    // Cancel twice: same answer, no second purge needed.
    assert.equal((await farm.client.cancelCampaign(big.id)).state, 'cancelled');
    await until(async () => (await queued()) === 3, 45_000, 'the cancelled campaign’s jobs removed', 200);
    assert.equal((await farm.client.getCampaign(big.id)).jobsDone, 0);

    // The other campaign still runs to the end, exactly.
    const worker = await farm.addWorker();
    const done = await until(async () => {
      const v = await farm.client.getCampaign(other.id);
      return v.state === 'done' ? v : undefined;
    }, 30_000, 'the other campaign done');
    assert.equal(done.schedules, 3000);
    assert.equal((await farm.client.getCampaign(big.id)).state, 'cancelled');
    // The next test counts queued jobs: no worker may take them.
    await worker.stop();
  });

  it(`a ${JOBS}-job campaign answers pending at once and is enqueued in the background, every job once; a cancel mid-enqueue stops it`, async () => {
    const before = await queued();
    const t0 = Date.now();
    const big = await farm.client.startCampaign({ scenario_name: 'cow-two-pages', variant_preset: 'range-end-only', seed_count: String(JOBS), batch_size: 1 });
    const answeredMs = Date.now() - t0;
    assert.equal(big.state, 'pending', `answered in ${answeredMs} ms with its jobs still going on the queue`);
    assert.equal(big.jobsTotal, JOBS);
    const running = await until(async () => {
      const v = await farm.client.getCampaign(big.id);
      return v.state === 'running' ? v : undefined;
    }, 45_000, 'enqueued in the background', 100);
    assert.equal(running.jobsDone, 0);
    assert.equal((await queued()) - before, JOBS, 'every job once');
    await farm.client.cancelCampaign(big.id);
    await until(async () => (await queued()) === before, 45_000, 'its jobs removed', 200);

    // Cancelled while its jobs are still being added: the enqueue stops, the purge removes what it added.
    const second = await farm.client.startCampaign({ scenario_name: 'cow-two-pages', variant_preset: 'range-end-only', seed_count: String(JOBS), batch_size: 1 });
    await until(async () => (await queued()) > before, 20_000, 'the first batch queued', 5);
    assert.equal((await farm.client.cancelCampaign(second.id)).state, 'cancelled');
    await until(async () => (await queued()) === before, 45_000, 'the cancelled campaign’s jobs removed', 200);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await queued(), before, 'no job added after the purge');
    const v = await farm.client.getCampaign(second.id);
    assert.equal(v.state, 'cancelled');
    assert.equal(await farm.conn.hget(keys.campaign(second.id), 'enqueued'), '0', 'the enqueue stopped before its last batch');
  });
});
