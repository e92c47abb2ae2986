import assert from 'node:assert/strict';
import { TestFarm } from './helpers/testFarm.ts';
import { until } from './helpers/farm.ts';

/**
 * Fairness between concurrent campaigns: job k of every campaign has BullMQ priority k + 1
 * (farm/jobs.ts), so a small campaign started behind a big one has its jobs taken next instead of
 * after every job of the big one (plain FIFO). One worker process, so "next" is observable as the
 * big campaign's progress when the small one ends. The time it takes is a bench figure
 * (bench/fairness.ts), not asserted here.
 */
const BIG_JOBS = 400;

describe('farm fairness: a small campaign started behind a big one is not queued behind all of it', function () {
  this.timeout(120_000);
  let farm: TestFarm;

  before(async () => {
    farm = await TestFarm.start();
  });
  after(async () => farm?.stop());

  it(`one worker, a ${BIG_JOBS}-job campaign running: a 2-job campaign started behind it is done while most of the big one is still queued`, async () => {
    const big = await farm.client.startCampaign({ name: 'big', scenario_name: 'cow-two-pages', variant_preset: 'v4.13', seed_count: String(BIG_JOBS * 100), batch_size: 100 });
    await farm.addWorker();
    await until(async () => (await farm.client.getCampaign(big.id)).jobsDone >= 3, 60_000, 'the big campaign under way');
    const small = await farm.client.startCampaign({ name: 'small', scenario_name: 'cow-two-pages', variant_preset: 'v4.13', seed_start: '1000000', seed_count: '200', batch_size: 100 });
    const done = await until(async () => {
      const v = await farm.client.getCampaign(small.id);
      return v.state === 'done' ? v : undefined;
    }, 60_000, 'the small campaign done', 50);
    assert.equal(done.schedules, 200, 'exact totals');
    const b = await farm.client.getCampaign(big.id);
    assert.equal(b.state, 'running');
    // FIFO would finish all 400 big jobs first; interleaving lets the big one do a handful more
    // (the jobs the worker had already fetched, and one per small job at equal priority).
    assert.ok(b.jobsDone < BIG_JOBS / 4, `the big campaign had ${b.jobsDone}/${b.jobsTotal} jobs done when the small one ended`);
    await farm.client.cancelCampaign(big.id);
  });
});
