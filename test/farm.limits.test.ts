import assert from 'node:assert/strict';
import { isGrpcError } from '../cli/farmClient.ts';
import { TestFarm } from './helpers/testFarm.ts';
import { runFarmCli, until } from './helpers/farm.ts';

const RESOURCE_EXHAUSTED = 8;
const LIMITS = { RACEFARM_MAX_SEEDS: '5000', RACEFARM_MAX_CAMPAIGN_JOBS: '4', RACEFARM_MAX_CAMPAIGNS: '2', RACEFARM_MAX_QUEUED_JOBS: '6' };

describe('farm limits: per campaign and farm-wide, RESOURCE_EXHAUSTED, nothing enqueued when refused', function () {
  this.timeout(60_000);
  let farm: TestFarm;

  before(async () => {
    farm = await TestFarm.start({ env: LIMITS });
  });
  after(async () => farm?.stop());

  const start = (seeds: number, batch: number) =>
    farm.client.startCampaign({ scenario_name: 'cow-two-pages', variant_preset: 'range-end-only', seed_count: String(seeds), batch_size: batch });

  async function refused(p: Promise<unknown>, field: RegExp, env: string): Promise<void> {
    const e = await p.then(() => null, (e: unknown) => e);
    assert.ok(isGrpcError(e), `refused (got ${String(e)})`);
    assert.equal(e.code, RESOURCE_EXHAUSTED, e.details);
    assert.match(e.details, field);
    assert.match(e.details, new RegExp(env));
  }

  it('refuses what is over each limit, accepts what fits, and enqueues only what it accepted', async () => {
    await refused(start(6000, 1000), /^seed_count: 6000 seeds .*limit is 5000/, 'RACEFARM_MAX_SEEDS');
    await refused(start(5000, 1000), /^batch_size: 1000 splits 5000 seeds into 5 jobs.*limit is 4/, 'RACEFARM_MAX_CAMPAIGN_JOBS');
    assert.equal(await farm.queuedFuzzJobs(), 0);

    const a = await start(4000, 1000);
    assert.equal(a.jobsTotal, 4);
    await refused(start(3000, 1000), /^seed_count: 3 more jobs would make 7 queued fuzz jobs.*limit is 6/, 'RACEFARM_MAX_QUEUED_JOBS');
    const b = await start(2000, 1000);
    assert.equal(b.jobsTotal, 2);
    await refused(start(1, 1), /^campaigns: 2 campaigns are already pending or running.*limit is 2/, 'RACEFARM_MAX_CAMPAIGNS');
    assert.equal(await farm.queuedFuzzJobs(), 6, 'only the accepted campaigns are queued');
    assert.equal((await farm.client.listCampaigns()).length, 2);

    // The CLI prints the refusal on one line and exits with its own status.
    const r = await runFarmCli(['campaign', 'start', '--scenario', 'cow-two-pages', '--seeds', '1', '--coordinator', farm.address]);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.match(r.err, /RESOURCE_EXHAUSTED: campaigns: 2 campaigns/);
    assert.equal(r.code, 4, 'a refusal by the farm exits 4 (README.md, Exit status)');

    // Cancelling one frees its place (its jobs leave the queue in the background).
    await farm.client.cancelCampaign(b.id);
    await until(async () => (await farm.queuedFuzzJobs()) === 4, 20_000, "the cancelled campaign's jobs removed");
    const c = await start(1000, 1000);
    assert.equal(c.jobsTotal, 1);
  });
});
