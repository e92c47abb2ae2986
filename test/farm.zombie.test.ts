import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { catalogEntry } from '../sim/scenario/catalog.ts';
import { compileScenario } from '../sim/scenario/compile.ts';
import { resolvePreset } from '../sim/variants/resolve.ts';
import { estimateSteps, type StrategySpec } from '../sim/schedule/strategy.ts';
import { runSeeds, type BatchResult } from '../sim/fuzz.ts';
import { FarmClient } from '../cli/farmClient.ts';
import { PREFIX, connectRedis } from '../farm/config.ts';
import { QUEUES } from '../farm/jobs.ts';
import { keys } from '../farm/keys.ts';
import type { CampaignView } from '../farm/store.ts';
import { TestRedis } from './helpers/redis.ts';
import { startCoordinatorProc, startWorkerProc, until, type FarmProc } from './helpers/farm.ts';

interface Plan {
  readonly scenario: string;
  readonly variant: string;
  readonly seedStart: number;
  readonly seeds: number;
  readonly batch: number;
}

/** What one process running the same seeds finds: the totals the farm must reproduce exactly. */
function localRun(p: Plan): BatchResult {
  const sc = compileScenario(catalogEntry(p.scenario)!.scenario);
  const v = resolvePreset(p.variant);
  const strategy: StrategySpec = { name: 'random', depth: 3, kSteps: estimateSteps(sc, v.sites) };
  return runSeeds(sc, v, strategy, p.seedStart, p.seeds);
}

function assertExact(c: CampaignView, p: Plan, local: BatchResult): void {
  const what = `${c.id} (${p.scenario} [${p.seedStart}, ${p.seedStart + p.seeds}))`;
  assert.equal(c.state, 'done', what);
  assert.equal(c.jobsDone, Math.ceil(p.seeds / p.batch), `${what}: jobs`);
  assert.equal(c.schedules, p.seeds, `${what}: every seed counted once`);
  assert.equal(c.steps, local.steps, `${what}: steps equal the local run`);
  assert.deepEqual(c.byOracle, local.byOracle, `${what}: oracles`);
  assert.equal(c.uniqueSignatures, local.findings.length, `${what}: signatures`);
  assert.equal(c.minimizePending, 0, `${what}: minimize pending`);
  assert.equal(c.failedRangeCount, 0, `${what}: failed ranges`);
}

/**
 * The faults the issue measured by hand, as tests on real processes (redis-server with AOF,
 * coordinator, workers): a worker SIGSTOPped past its job's lock and resumed after its job was
 * re-run elsewhere (its late result must not count), and four faults combined over three
 * concurrent campaigns. Totals are compared with a local run of the same seeds.
 */
describe('farm faults: zombie worker, combined faults over concurrent campaigns', function () {
  this.timeout(120_000);
  let redis: TestRedis;
  let coordinator: FarmProc;
  let address = '';
  const procs: FarmProc[] = [];
  let client: FarmClient;
  let conn: Redis;
  let fuzz: Queue;
  let results: Queue;

  before(async () => {
    redis = await TestRedis.start();
    const c = await startCoordinatorProc(redis.url);
    coordinator = c.proc;
    address = c.address;
    client = new FarmClient(address);
    conn = connectRedis(redis.url);
    fuzz = new Queue(QUEUES.fuzz, { connection: conn, prefix: PREFIX });
    results = new Queue(QUEUES.results, { connection: conn, prefix: PREFIX });
    fuzz.on('error', () => {});
    results.on('error', () => {});
  });

  after(async () => {
    client?.close();
    for (const p of procs) if (p.alive) p.child.kill('SIGCONT');
    await fuzz?.close();
    await results?.close();
    await conn?.quit().catch(() => conn.disconnect());
    await Promise.all([...procs, coordinator].filter(Boolean).map((p) => p.stop('SIGTERM', 5000)));
    await redis?.destroy();
  });

  const start = async (p: Plan) =>
    (await client.startCampaign({ scenario_name: p.scenario, variant_preset: p.variant, seed_start: String(p.seedStart), seed_count: String(p.seeds), batch_size: p.batch })).id;

  const done = (id: string, ms = 90_000) =>
    until(async () => {
      const v = await client.getCampaign(id);
      return v.state === 'done' || v.state === 'incomplete' ? v : undefined;
    }, ms, `campaign ${id} ends`, 200);

  it('a worker SIGSTOPped past its lock, resumed after its job was re-run: its late result is not counted, totals exact', async () => {
    const plan: Plan = { scenario: 'cow-two-pages', variant: 'range-end-only', seedStart: 0, seeds: 12_000, batch: 1500 };
    const local = localRun(plan);
    const zombie = await startWorkerProc(redis.url);
    procs.push(zombie);
    const id = await start(plan);
    // Stop the worker while it holds a job whose range is not recorded yet (retry if it was between jobs).
    let held = '';
    for (let tries = 0; tries < 50 && held === ''; tries++) {
      const active = await until(async () => ((await fuzz.getActive()).length > 0 ? fuzz.getActive() : undefined), 30_000, 'an active fuzz job', 20);
      zombie.child.kill('SIGSTOP');
      await new Promise((r) => setTimeout(r, 100));
      const now = await fuzz.getActive();
      const job = now.find((j) => active.some((a) => a.id === j.id));
      if (job && !(await conn.sismember(keys.ranges(id), String(job.data.seedStart)))) held = String(job.id);
      else {
        zombie.child.kill('SIGCONT');
        await new Promise((r) => setTimeout(r, 150));
      }
    }
    assert.ok(held !== '', 'the worker was stopped holding a job');
    // Another worker re-runs the held job once its lock (2 s) expires, and the rest of the campaign.
    procs.push(await startWorkerProc(redis.url));
    const c = await done(id);
    assertExact(c, plan, local);
    const reran = await fuzz.getJob(held);
    assert.ok((reran?.stalledCounter ?? 0) >= 1, `job ${held} was taken back from the stopped worker`);

    // The zombie wakes up mid-range, finishes it and tries to hand in its result.
    zombie.child.kill('SIGCONT');
    await until(async () => /lock|Missing key|job .* failed/i.test(zombie.err), 20_000, 'the zombie notices it lost its job', 100);
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(zombie.alive, `the zombie worker carries on:\n${zombie.err}`);
    assertExact(await client.getCampaign(id), plan, local);
    const counts = await results.getJobCounts();
    assert.equal(counts.waiting + counts.active + counts.delayed + counts.failed, 0, `no late result pending: ${JSON.stringify(counts)}`);
    const fuzzResults = (await results.getCompleted(0, -1)).filter((j) => j.name === 'fuzz' && j.data.campaign === id);
    assert.equal(fuzzResults.length, c.jobsDone, 'one fuzz result per range');
    // The held range's result is the other worker's: the zombie's late one (same job id) was not added.
    const heldStart = Number(held.slice(held.lastIndexOf('_') + 1));
    const r = fuzzResults.find((j) => j.data.seedStart === heldStart);
    assert.ok(r, `a result for the held range ${heldStart}`);
    assert.ok(!String(r.data.worker).includes(`:${zombie.child.pid}`), `the held range was recorded from ${r.data.worker}, not the zombie (pid ${zombie.child.pid})`);
    console.log(`      zombie: ${zombie.err.split('\n').filter((l) => /lock|failed|Missing/i.test(l)).slice(0, 2).join(' | ').slice(0, 300)}`);
  });

  it('four faults over three concurrent campaigns (SIGSTOP, kill -9 worker, kill -9 coordinator, Redis restart): every total exact', async () => {
    const plans: Plan[] = [
      { scenario: 'cow-two-pages', variant: 'range-end-only', seedStart: 100_000, seeds: 20_000, batch: 1000 },
      { scenario: 'cow-two-pages', variant: 'v4.13', seedStart: 0, seeds: 10_000, batch: 500 },
      { scenario: 'intel-svm-cow', variant: 'intel-svm-deferred', seedStart: 0, seeds: 4_000, batch: 250 },
    ];
    const locals = plans.map(localRun);
    while (procs.filter((p) => p.alive).length < 3) procs.push(await startWorkerProc(redis.url));
    const [stopped, killed] = procs.filter((p) => p.alive);
    const ids: string[] = [];
    for (const p of plans) ids.push(await start(p));
    const progressed = (n: number) => until(async () => {
      const vs = await Promise.all(ids.map((id) => client.getCampaign(id)));
      return vs.reduce((a, v) => a + v.jobsDone, 0) >= n ? vs : undefined;
    }, 60_000, `${n} ranges recorded`, 50);

    await progressed(3);
    stopped.child.kill('SIGSTOP');
    await progressed(6);
    await killed.stop('SIGKILL');
    await progressed(9);
    await coordinator.stop('SIGKILL');
    client.close();
    await new Promise((r) => setTimeout(r, 500));
    const c = await startCoordinatorProc(redis.url, { grpc: address });
    coordinator = c.proc;
    client = new FarmClient(c.address);
    await progressed(12);
    await redis.stop();
    await new Promise((r) => setTimeout(r, 500));
    await redis.restart();
    stopped.child.kill('SIGCONT');

    const views = await Promise.all(ids.map((id) => done(id)));
    for (let i = 0; i < plans.length; i++) {
      assertExact(views[i], plans[i], locals[i]);
      // A signature found by an earlier campaign keeps that campaign's seed; compare this campaign's own lowest seeds.
      const own = await conn.hgetall(keys.sigs(ids[i]));
      assert.deepEqual(Object.entries(own).map(([s, seed]) => [s, Number(seed)]).sort(), locals[i].findings.map((f) => [f.signature, f.seed]).sort(), `${ids[i]}: signatures and lowest seeds`);
    }
    assert.ok(coordinator.alive, coordinator.err);
    assert.ok(stopped.alive, 'the resumed worker lives');
  });
});
