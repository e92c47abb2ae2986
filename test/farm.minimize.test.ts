import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { FarmClient } from '../cli/farmClient.ts';
import { PREFIX, connectRedis } from '../farm/config.ts';
import { QUEUES } from '../farm/jobs.ts';
import { TestRedis } from './helpers/redis.ts';
import { startCoordinatorProc, startWorkerProc, until, type FarmProc } from './helpers/farm.ts';
import { livelockScenario } from './helpers/livelock.ts';

/** Two attempts, 100 ms apart, failed jobs swept every 300 ms. */
const ENV = { RACEFARM_JOB_ATTEMPTS: '2', RACEFARM_JOB_BACKOFF_MS: '100', RACEFARM_SWEEP_MS: '300' };

describe('farm minimize failures and bounded traces', function () {
  this.timeout(60_000);
  let redis: TestRedis;
  const procs: FarmProc[] = [];
  let conn: Redis;
  let client: FarmClient;

  before(async () => {
    redis = await TestRedis.start();
    conn = connectRedis(redis.url);
    const c = await startCoordinatorProc(redis.url, { env: ENV });
    procs.push(c.proc);
    client = new FarmClient(c.address);
  });

  after(async () => {
    client?.close();
    await conn?.quit().catch(() => conn.disconnect());
    await Promise.all(procs.map((p) => p.stop()));
    await redis?.destroy();
  });

  it('a minimize job that fails for good marks its finding failed with the reason and releases the campaign', async () => {
    const fuzzOnly = await startWorkerProc(redis.url, { queues: 'fuzz', env: ENV });
    procs.push(fuzzOnly);
    // Seed 2041 is the first stale read of cow-two-pages × range-end-only.
    const started = await client.startCampaign({ scenario_name: 'cow-two-pages', variant_preset: 'range-end-only', seed_start: '2000', seed_count: '1000', batch_size: 500 });
    const id = started.id;
    // Every range recorded, the findings wait for a minimize worker.
    const waiting = await until(async () => {
      const c = await client.getCampaign(id);
      return c.jobsDone === 2 && c.minimizePending > 0 ? c : undefined;
    }, 30_000, 'ranges recorded, findings waiting for minimization');
    assert.equal(waiting.state, 'running');

    // Poison the waiting minimize jobs (no finding in them), then start a minimize-only worker.
    const minimize = new Queue(QUEUES.minimize, { connection: conn, prefix: PREFIX });
    minimize.on('error', () => {});
    const jobs = await minimize.getWaiting();
    await minimize.close();
    assert.ok(jobs.length > 0);
    for (const j of jobs) await conn.hset(`${PREFIX}:${QUEUES.minimize}:${j.id}`, 'data', JSON.stringify({ signature: j.data.signature, finding: null }));
    procs.push(await startWorkerProc(redis.url, { queues: 'minimize', env: ENV }));

    const ended = await until(async () => {
      const c = await client.getCampaign(id);
      return c.state !== 'running' ? c : undefined;
    }, 30_000, 'the campaign is released');
    assert.equal(ended.state, 'done');
    assert.equal(ended.minimizePending, 0);
    const findings = await client.listFindings(id);
    assert.equal(findings.length, ended.uniqueSignatures);
    for (const f of findings) {
      assert.equal(f.status, 'failed', `${f.signature} is failed`);
      const d = await client.getFinding(f.signature);
      assert.match(d.reason, /minimize (job )?failed/);
      assert.match(d.reason, /null/, 'the reason says what broke');
    }
    await fuzzOnly.stop();
  });

  it('a long step-budget run gets a bounded trace that says what it left out', async () => {
    procs.push(await startWorkerProc(redis.url, { env: ENV }));
    const started = await client.startCampaign({ scenario_json: JSON.stringify(livelockScenario(20_000)), variant_preset: 'v4.15', seed_start: '200', seed_count: '1', batch_size: 1 });
    const done = await until(async () => {
      const c = await client.getCampaign(started.id);
      return c.state !== 'running' && c.state !== 'pending' ? c : undefined;
    }, 45_000, 'the livelock campaign ends');
    assert.equal(done.state, 'done');
    const findings = await client.listFindings(started.id);
    const budget = findings.find((f) => f.oracle === 'step-budget');
    assert.ok(budget, `a step-budget finding (got ${findings.map((f) => f.oracle).join(', ')})`);
    assert.equal(budget.status, 'minimized');
    const d = await client.getFinding(budget.signature);
    assert.ok(d.trace.length < 2_000_000, `trace is bounded (${d.trace.length} characters)`);
    assert.match(d.trace, /… \d+ steps elided \(\d+ to \d+\) of 20000 …/);
    assert.match(d.trace, /20000 steps: \d+ left out of this table/);
    assert.match(d.trace, />> step-budget \(limit\) at end of run \(20000 steps\)/);
    // The finding file is whole: Reproduce replays every step (on the coordinator's simulation thread).
    const r = await client.reproduce({ signature: budget.signature });
    assert.equal(r.reproduced, true, r.reason);
    assert.equal(r.oracle, 'step-budget');
    assert.match(r.trace, /steps elided/);
    assert.equal(await client.healthCheck(), 'SERVING');
  });
});
