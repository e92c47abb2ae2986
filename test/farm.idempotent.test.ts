import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { FarmClient, isGrpcError } from '../cli/farmClient.ts';
import { PREFIX, connectRedis } from '../farm/config.ts';
import { keys } from '../farm/keys.ts';
import { QUEUES } from '../farm/jobs.ts';
import { TestRedis } from './helpers/redis.ts';
import { runFarmCli, startCoordinatorProc, until, type FarmProc } from './helpers/farm.ts';

const FAILED_PRECONDITION = 9;
/** Enough jobs that enqueueing takes seconds, so the coordinator can be killed in the middle. */
const JOBS = 15_000;

describe('farm StartCampaign is idempotent with a request id', function () {
  this.timeout(60_000);
  let redis: TestRedis;
  const procs: FarmProc[] = [];
  let conn: Redis;
  let fuzz: Queue;

  before(async () => {
    redis = await TestRedis.start();
    conn = connectRedis(redis.url);
    fuzz = new Queue(QUEUES.fuzz, { connection: conn, prefix: PREFIX });
    fuzz.on('error', () => {});
  });

  after(async () => {
    await fuzz?.close();
    await conn?.quit().catch(() => conn.disconnect());
    await Promise.all(procs.map((p) => p.stop()));
    await redis?.destroy();
  });

  const req = (rid: string, seeds: number, batch: number) => ({
    scenario_name: 'cow-two-pages', variant_preset: 'range-end-only', seed_count: String(seeds), batch_size: batch, request_id: rid,
  });

  it('a retry with the same request id returns the same campaign, a different request with it is refused', async () => {
    const c = await startCoordinatorProc(redis.url, { env: { RACEFARM_MAX_CAMPAIGN_JOBS: String(JOBS), RACEFARM_MAX_QUEUED_JOBS: String(2 * JOBS) } });
    procs.push(c.proc);
    const client = new FarmClient(c.address);
    try {
      const a = await client.startCampaign(req('retry-1', 2000, 1000));
      const b = await client.startCampaign(req('retry-1', 2000, 1000));
      assert.equal(b.id, a.id);
      const e = await client.startCampaign(req('retry-1', 3000, 1000)).then(() => null, (x: unknown) => x);
      assert.ok(isGrpcError(e));
      assert.equal(e.code, FAILED_PRECONDITION);
      assert.match(e.details, new RegExp(`^request_id: "retry-1" already started campaign ${a.id}`));
      assert.equal((await client.listCampaigns()).length, 1);
      assert.equal(await fuzz.getJobCountByTypes('waiting', 'prioritized'), 2);
      await client.cancelCampaign(a.id);
    } finally {
      client.close();
    }
  });

  it('the coordinator dies mid-enqueue (in the background, after answering): the restarted one serves the retry with the same campaign and finishes enqueueing exactly once', async () => {
    const env = { RACEFARM_MAX_CAMPAIGN_JOBS: String(JOBS), RACEFARM_MAX_QUEUED_JOBS: String(2 * JOBS) };
    const c1 = await startCoordinatorProc(redis.url, { env });
    const client1 = new FarmClient(c1.address);
    const before = (await conn.zcard(keys.campaigns)) as number;
    // A campaign this big answers `pending` at once and is enqueued in the background.
    const first = await client1.startCampaign(req('die-1', JOBS, 1));
    assert.equal(first.state, 'pending');
    const id = first.id;
    assert.deepEqual(await conn.zrange(keys.campaigns, String(before), "-1"), [id]);
    // Kill it once some, not all, of its jobs are queued.
    await until(async () => (await fuzz.getJobCountByTypes('prioritized')) > 500, 30_000, 'enqueueing under way', 5);
    await c1.proc.stop('SIGKILL');
    client1.close();
    assert.equal(await conn.hget(keys.campaign(id), 'enqueued'), '0', 'killed before the end of enqueueing');
    assert.ok((await fuzz.getJobCountByTypes('prioritized')) < JOBS);

    const c2 = await startCoordinatorProc(redis.url, { env });
    procs.push(c2.proc);
    const client = new FarmClient(c2.address);
    try {
      const again = await client.startCampaign(req('die-1', JOBS, 1));
      assert.equal(again.id, id, 'the retry returns the campaign the dead call created');
      await until(async () => (await conn.hget(keys.campaign(id), 'enqueued')) === '1', 45_000, 'enqueueing finished', 100);
      assert.equal(await fuzz.getJobCountByTypes('prioritized', 'waiting'), JOBS, 'every job once');
      assert.equal((await conn.zrange(keys.campaigns, String(before), "-1")).length, 1, 'no duplicate campaign');
      // The CLI sends a request id of its own (a repeated --request-id gives the same campaign).
      const r = await runFarmCli(['campaign', 'start', '--scenario', 'cow-two-pages', '--seeds', '1000', '--batch', '1000', '--request-id', 'cli-1', '--coordinator', c2.address]);
      const r2 = await runFarmCli(['campaign', 'start', '--scenario', 'cow-two-pages', '--seeds', '1000', '--batch', '1000', '--request-id', 'cli-1', '--coordinator', c2.address]);
      assert.equal(r.code, 0, r.err);
      assert.equal(r2.out, r.out);
    } finally {
      client.close();
    }
  });
});
