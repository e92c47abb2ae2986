import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { FarmClient } from '../farm/client.ts';
import { PREFIX, connectRedis } from '../farm/config.ts';
import { QUEUES } from '../farm/jobs.ts';
import { TestRedis } from './helpers/redis.ts';
import { startCoordinatorProc, startWorkerProc, until, type FarmProc } from './helpers/farm.ts';

/** Jobs in the cancelled campaign: on main, removing 20k jobs one by one took ~10 s before Cancel answered. */
const JOBS = 20_000;

describe('farm CancelCampaign answers at once and removes the queued jobs in the background', function () {
  this.timeout(60_000);
  let redis: TestRedis;
  const procs: FarmProc[] = [];
  let client: FarmClient;
  let conn: Redis;
  let fuzz: Queue;

  before(async () => {
    redis = await TestRedis.start();
    const c = await startCoordinatorProc(redis.url);
    procs.push(c.proc);
    // A client deadline of 5 s for unary calls: CancelCampaign must not wait for the removal.
    client = new FarmClient(c.address, { timeoutMs: 5000 });
    conn = connectRedis(redis.url);
    fuzz = new Queue(QUEUES.fuzz, { connection: conn, prefix: PREFIX });
    fuzz.on('error', () => {});
  });

  after(async () => {
    client?.close();
    await fuzz?.close();
    await conn?.quit().catch(() => conn.disconnect());
    await Promise.all(procs.map((p) => p.stop()));
    await redis?.destroy();
  });

  const queued = () => fuzz.getJobCountByTypes('waiting', 'delayed', 'prioritized');

  it(`cancels a ${JOBS}-job campaign within a 5 s deadline; its jobs leave the queue, a second campaign is untouched`, async () => {
    const big = await client.startCampaign({ scenario_name: 'cow-two-pages', variant_preset: 'range-end-only', seed_count: String(JOBS), batch_size: 1 });
    const other = await client.startCampaign({ scenario_name: 'cow-two-pages', variant_preset: 'range-end-only', seed_count: '3000', batch_size: 1000 });
    assert.equal(await queued(), JOBS + 3);

    const c = await client.cancelCampaign(big.id);
    assert.equal(c.state, 'cancelled');
    // Cancel twice: same answer, no second purge needed.
    assert.equal((await client.cancelCampaign(big.id)).state, 'cancelled');
    await until(async () => (await queued()) === 3, 45_000, 'the cancelled campaign’s jobs removed', 200);
    assert.equal((await client.getCampaign(big.id)).jobsDone, 0);

    // The other campaign still runs to the end, exactly.
    procs.push(await startWorkerProc(redis.url));
    const done = await until(async () => {
      const v = await client.getCampaign(other.id);
      return v.state === 'done' ? v : undefined;
    }, 30_000, 'the other campaign done');
    assert.equal(done.schedules, 3000);
    assert.equal((await client.getCampaign(big.id)).state, 'cancelled');
  });
});
