import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { catalogEntry } from '../sim/scenario/catalog.ts';
import { compileScenario } from '../sim/scenario/compile.ts';
import { resolvePreset } from '../sim/variants/resolve.ts';
import { estimateSteps, type StrategySpec } from '../sim/schedule/strategy.ts';
import { runSeeds, type BatchResult } from '../sim/fuzz.ts';
import { replayFinding } from '../sim/replay.ts';
import { FarmClient } from '../cli/farmClient.ts';
import { PREFIX, connectRedis } from '../farm/config.ts';
import { QUEUES, fuzzJobId } from '../farm/jobs.ts';
import type { CampaignView } from '../farm/store.ts';
import { TestRedis } from './helpers/redis.ts';
import { farmProcess, startCoordinatorProc, startWorkerProc, until, type FarmProc } from './helpers/farm.ts';

const SCENARIO = 'cow-two-pages';
const VARIANT = 'range-end-only';
const SEEDS = 100_000;
const BATCH = 1000;
const JOBS = SEEDS / BATCH;
/** A fault is injected once this many ranges are recorded: well inside the campaign. */
const FAULT_AT = 15;

describe('farm fault tolerance (kill -9 worker, coordinator restart, redis restart)', function () {
  this.timeout(120_000);
  let redis: TestRedis;
  let coordinator: FarmProc;
  let coordinatorAddress = '';
  let workers: FarmProc[] = [];
  const others: FarmProc[] = [];
  let client: FarmClient;
  let conn: Redis;
  let fuzzQueue: Queue;
  let local: BatchResult;

  before(async () => {
    const sc = compileScenario(catalogEntry(SCENARIO)!.scenario);
    const v = resolvePreset(VARIANT);
    const strategy: StrategySpec = { name: 'random', depth: 3, kSteps: estimateSteps(sc, v.sites) };
    local = runSeeds(sc, v, strategy, 0, SEEDS);
    redis = await TestRedis.start();
    const c = await startCoordinatorProc(redis.url);
    coordinator = c.proc;
    coordinatorAddress = c.address;
    client = new FarmClient(coordinatorAddress);
    conn = connectRedis(redis.url);
    fuzzQueue = new Queue(QUEUES.fuzz, { connection: conn, prefix: PREFIX });
    fuzzQueue.on('error', () => {});
  });

  beforeEach(async () => {
    // Two live workers at the start of every test.
    workers = workers.filter((w) => w.alive);
    while (workers.length < 2) workers.push(await startWorkerProc(redis.url));
  });

  after(async () => {
    client?.close();
    await fuzzQueue?.close();
    await conn?.quit().catch(() => conn.disconnect());
    await Promise.all([...workers, ...others, coordinator].filter(Boolean).map((p) => p.stop()));
    await redis?.destroy();
  });

  async function start(): Promise<string> {
    const c = await client.startCampaign({ scenario_name: SCENARIO, variant_preset: VARIANT, seed_count: String(SEEDS), batch_size: BATCH });
    assert.equal(c.jobsTotal, JOBS);
    return c.id;
  }

  /** Waits until FAULT_AT ranges are recorded and checks the campaign is not finished yet. */
  async function midCampaign(id: string): Promise<void> {
    const c = await until(async () => {
      const c = await client.getCampaign(id);
      return c.jobsDone >= FAULT_AT ? c : undefined;
    }, 60_000, `${FAULT_AT} recorded ranges`, 20);
    assert.ok(c.jobsDone < JOBS, `the fault must land mid-campaign (${c.jobsDone}/${JOBS} done)`);
  }

  async function finish(id: string, c: FarmClient = client): Promise<CampaignView> {
    return until(async () => {
      const v = await c.getCampaign(id);
      return v.state === 'done' ? v : undefined;
    }, 90_000, `campaign ${id} done`, 100);
  }

  function assertExact(c: CampaignView): void {
    assert.equal(c.state, 'done');
    assert.equal(c.jobsDone, JOBS);
    assert.equal(c.schedules, SEEDS, 'every seed counted once');
    assert.equal(c.steps, local.steps, 'steps equal the local run over the same seeds');
    assert.deepEqual(c.byOracle, local.byOracle);
    assert.equal(c.uniqueSignatures, local.findings.length);
    assert.equal(c.minimizePending, 0);
  }

  async function assertFindings(id: string, c: FarmClient = client): Promise<void> {
    const found = await c.listFindings(id);
    assert.deepEqual(
      found.map((f) => [f.signature, f.seed]).sort(),
      local.findings.map((f) => [f.signature, f.seed]).sort(),
    );
    for (const f of found) {
      const d = await c.getFinding(f.signature);
      const r = replayFinding(JSON.parse(d.findingJson));
      assert.ok(r.reproduced, r.reproduced ? '' : r.reason);
    }
  }

  it('kill -9 of a worker mid-campaign: its job is recovered and totals stay exact', async () => {
    const id = await start();
    await midCampaign(id);
    const victim = workers[0];
    await victim.stop('SIGKILL');
    assert.equal(victim.signal, 'SIGKILL');
    const c = await finish(id);
    assertExact(c);
    await assertFindings(id);
    // The job the victim held was re-run by the survivor after its lock expired.
    let stalled = 0;
    for (let s = 0; s < SEEDS; s += BATCH) {
      const j = await fuzzQueue.getJob(fuzzJobId(id, s));
      if (j && (j.stalledCounter ?? 0) > 0) stalled++;
    }
    assert.ok(stalled <= 1, `at most the one job the victim held was stalled (${stalled})`);
  });

  it('SIGTERM of a worker mid-campaign: it finishes its job, exits 0, totals stay exact', async () => {
    const id = await start();
    await midCampaign(id);
    const w = workers[0];
    const t0 = Date.now();
    await w.stop('SIGTERM', 20_000);
    assert.equal(w.exitCode, 0, w.err);
    assert.ok(Date.now() - t0 < 10_000, 'graceful shutdown is prompt');
    assertExact(await finish(id));
  });

  it('restart of the coordinator (kill -9) mid-campaign: the new one carries on, totals stay exact', async () => {
    const id = await start();
    // A `campaign watch` client follows the campaign across the restart.
    const watcher = farmProcess(['campaign', 'watch', id, '--coordinator', coordinatorAddress]);
    others.push(watcher);
    await midCampaign(id);
    await coordinator.stop('SIGKILL');
    client.close();
    // Workers keep going while no coordinator runs; their results wait in the results queue.
    await new Promise((r) => setTimeout(r, 1000));
    const c = await startCoordinatorProc(redis.url, { grpc: coordinatorAddress });
    coordinator = c.proc;
    client = new FarmClient(c.address);
    const done = await finish(id);
    assertExact(done);
    await assertFindings(id);
    await watcher.wait();
    assert.equal(watcher.exitCode, 0, watcher.err);
    assert.match(watcher.out, new RegExp(`${id} done: ${JOBS}/${JOBS} jobs, ${SEEDS} schedules, ${local.steps} steps`));
  });

  it('redis restarted mid-campaign (append-only persistence): processes reconnect and finish, totals exact', async () => {
    const id = await start();
    await midCampaign(id);
    await redis.stop();
    await until(async () => (await client.healthCheck()) === 'NOT_SERVING', 5000, 'health NOT_SERVING while Redis is down', 50);
    await new Promise((r) => setTimeout(r, 1000));
    await redis.restart();
    const done = await finish(id);
    assertExact(done);
    await assertFindings(id);
    assert.ok(coordinator.alive && workers.every((w) => w.alive), 'no process died with Redis');
    assert.equal(await client.healthCheck(), 'SERVING');
  });
});
