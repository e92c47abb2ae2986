import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { catalogEntry } from '../sim/scenario/catalog.ts';
import { compileScenario } from '../sim/scenario/compile.ts';
import { resolvePreset } from '../sim/variants/resolve.ts';
import { estimateSteps } from '../sim/schedule/strategy.ts';
import { runSeeds, type BatchResult } from '../sim/fuzz.ts';
import { FarmClient } from '../cli/farmClient.ts';
import { PREFIX, connectRedis } from '../farm/config.ts';
import { QUEUES, fuzzJobId } from '../farm/jobs.ts';
import type { CampaignView } from '../farm/store.ts';
import { TestRedis } from './helpers/redis.ts';
import { runFarmCli, startCoordinatorProc, startWorkerProc, until, type FarmProc } from './helpers/farm.ts';

const SCENARIO = 'cow-two-pages';
const VARIANT = 'range-end-only';
const SEEDS = 4000;
const BATCH = 1000;
/** Two attempts, 100 ms apart, failed jobs swept every 300 ms: a poisoned job fails for good in about a second. */
const ENV = { RACEFARM_JOB_ATTEMPTS: '2', RACEFARM_JOB_BACKOFF_MS: '100', RACEFARM_SWEEP_MS: '300' };

describe('farm terminal states: a job that fails for good ends its campaign, retry runs it again', function () {
  this.timeout(60_000);
  let redis: TestRedis;
  const procs: FarmProc[] = [];
  let conn: Redis;
  let fuzzQueue: Queue;
  let local: BatchResult;

  before(async () => {
    const sc = compileScenario(catalogEntry(SCENARIO)!.scenario);
    const v = resolvePreset(VARIANT);
    local = runSeeds(sc, v, { name: 'random', depth: 3, kSteps: estimateSteps(sc, v.sites) }, 0, SEEDS);
    redis = await TestRedis.start();
    conn = connectRedis(redis.url);
    fuzzQueue = new Queue(QUEUES.fuzz, { connection: conn, prefix: PREFIX });
    fuzzQueue.on('error', () => {});
  });

  after(async () => {
    await fuzzQueue?.close();
    await conn?.quit().catch(() => conn.disconnect());
    await Promise.all(procs.map((p) => p.stop()));
    await redis?.destroy();
  });

  it('failed range listed in status, gRPC, metrics and `campaign status`; watch returns; survives a coordinator restart; retry is idempotent with exact totals', async () => {
    const c1 = await startCoordinatorProc(redis.url, { env: ENV });
    procs.push(c1.proc);
    const client1 = new FarmClient(c1.address);
    const started = await client1.startCampaign({ scenario_name: SCENARIO, variant_preset: VARIANT, seed_count: String(SEEDS), batch_size: BATCH });
    client1.close();
    const id = started.id;
    assert.equal(started.jobsTotal, SEEDS / BATCH);

    // Poison one waiting job (its strategy no worker knows), as a corrupted message would be.
    const jobId = fuzzJobId(id, 2000);
    const key = `${PREFIX}:${QUEUES.fuzz}:${jobId}`;
    const data = JSON.parse((await conn.hget(key, 'data'))!);
    data.strategy = { ...data.strategy, name: 'no-such-strategy' };
    await conn.hset(key, 'data', JSON.stringify(data));

    // The job fails for good while no coordinator runs.
    await c1.proc.stop('SIGKILL');
    procs.push(await startWorkerProc(redis.url, { env: ENV }));
    await until(async () => (await fuzzQueue.getJobState(jobId)) === 'failed', 30_000, 'the poisoned job failed for good');

    const c2 = await startCoordinatorProc(redis.url, { env: ENV });
    procs.push(c2.proc);
    const client = new FarmClient(c2.address);
    try {
      const ended = await until(async () => {
        const c = await client.getCampaign(id);
        return c.state !== 'running' && c.state !== 'pending' ? c : undefined;
      }, 30_000, 'the campaign leaves running');
      assert.equal(ended.state, 'incomplete');
      assert.equal(ended.failedRangeCount, 1);
      assert.equal(ended.failedRanges.length, 1);
      assert.equal(ended.failedRanges[0].seedStart, 2000);
      assert.equal(ended.failedRanges[0].seedCount, 1000);
      assert.match(ended.failedRanges[0].error, /after 2 attempts/);
      assert.equal(ended.jobsDone, 3);
      assert.equal(ended.schedules, 3000, 'the failed range is not in the totals');
      assert.ok(ended.finishedAtMs > 0);

      // Watch returns on a terminal state.
      const last = await client.watchCampaign(id, () => {}, 10_000);
      assert.equal(last?.state, 'incomplete');

      const status = await runFarmCli(['campaign', 'status', id, '--coordinator', c2.address]);
      assert.equal(status.code, 0, status.err);
      assert.match(status.out, /^state\s+incomplete$/m);
      assert.match(status.out, /^failed\s+1 seed range/m);
      assert.match(status.out, /\[2000, 3000\) .*after 2 attempts/);

      const metricsUrl = c2.proc.out.match(/coordinator metrics on (\S+)/)![1];
      const text = await (await fetch(metricsUrl)).text();
      assert.match(text, new RegExp(`racefarm_campaign_failed_ranges\\{campaign="${id}"[^}]*\\} 1\\b`));
      assert.match(text, /racefarm_campaigns\{state="incomplete"\} 1\b/);

      // Two retries at once: the second finds nothing to retry; the range counts once.
      const [r1, r2] = await Promise.all([0, 1].map(() => runFarmCli(['campaign', 'retry', id, '--json', '--coordinator', c2.address])));
      assert.equal(r1.code, 0, r1.err);
      assert.equal(r2.code, 0, r2.err);
      const done = await until(async () => {
        const c = await client.getCampaign(id);
        return c.state === 'done' ? c : undefined;
      }, 30_000, 'the retried campaign is done');
      const assertExact = (c: CampaignView) => {
        assert.equal(c.jobsDone, SEEDS / BATCH);
        assert.equal(c.schedules, SEEDS);
        assert.equal(c.steps, local.steps);
        assert.deepEqual(c.byOracle, local.byOracle);
        assert.equal(c.uniqueSignatures, local.findings.length);
        assert.equal(c.failedRangeCount, 0);
        assert.deepEqual(c.failedRanges, []);
      };
      assertExact(done);

      // A retry of a finished campaign changes nothing.
      const again = await client.retryCampaign(id);
      assert.equal(again.state, 'done');
      assertExact(again);
      await new Promise((r) => setTimeout(r, 500));
      assertExact(await client.getCampaign(id));
    } finally {
      client.close();
    }
  });
});
