import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { catalogEntry } from '../sim/scenario/catalog.ts';
import { compileScenario } from '../sim/scenario/compile.ts';
import { resolvePreset } from '../sim/variants/resolve.ts';
import { estimateSteps, type StrategySpec } from '../sim/schedule/strategy.ts';
import { runSeeds, type BatchResult } from '../sim/fuzz.ts';
import { checkFindingShape, replayFinding } from '../sim/replay.ts';
import type { Finding } from '../sim/finding.ts';
import { FarmClient, isGrpcError, type CampaignEvent } from '../cli/farmClient.ts';
import { PREFIX, connectRedis } from '../farm/config.ts';
import { QUEUES } from '../farm/jobs.ts';
import { keys } from '../farm/keys.ts';
import { TestRedis } from './helpers/redis.ts';
import { ROOT, runFarmCli, startCoordinatorProc, startWorkerProc, until, type FarmProc } from './helpers/farm.ts';

const SCENARIO = 'cow-two-pages';
const VARIANT = 'range-end-only';
const SEEDS = 20_000;

function localRun(seedStart: number, count: number): BatchResult {
  const sc = compileScenario(catalogEntry(SCENARIO)!.scenario);
  const v = resolvePreset(VARIANT);
  const strategy: StrategySpec = { name: 'random', depth: 3, kSteps: estimateSteps(sc, v.sites) };
  return runSeeds(sc, v, strategy, seedStart, count);
}

async function expectInvalid(p: Promise<unknown>, field: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isGrpcError(e), `not a gRPC error: ${String(e)}`);
    assert.equal(e.code, grpc.status.INVALID_ARGUMENT, `${grpc.status[e.code]}: ${e.details}`);
    assert.match(e.details, new RegExp(`(^|; )${field.replace(/[.[\]]/g, '\\$&')}`), `details name ${field}: ${e.details}`);
    return true;
  });
}

describe('farm end to end (redis + coordinator + 2 workers)', function () {
  this.timeout(120_000);
  let redis: TestRedis;
  let coordinator: FarmProc;
  let workers: FarmProc[] = [];
  let client: FarmClient;
  let conn: Redis;
  let fuzzQueue: Queue;
  let minimizeQueue: Queue;
  const local = localRun(0, SEEDS);
  const tmp = mkdtempSync(join(tmpdir(), 'racefarm-e2e-'));
  let campaignId = '';

  before(async () => {
    redis = await TestRedis.start();
    const c = await startCoordinatorProc(redis.url);
    coordinator = c.proc;
    workers = await Promise.all([startWorkerProc(redis.url), startWorkerProc(redis.url)]);
    client = new FarmClient(c.address);
    conn = connectRedis(redis.url);
    fuzzQueue = new Queue(QUEUES.fuzz, { connection: conn, prefix: PREFIX });
    fuzzQueue.on('error', () => {});
    minimizeQueue = new Queue(QUEUES.minimize, { connection: conn, prefix: PREFIX });
    minimizeQueue.on('error', () => {});
  });

  after(async () => {
    client?.close();
    await fuzzQueue?.close();
    await minimizeQueue?.close();
    await conn?.quit().catch(() => conn.disconnect());
    await Promise.all([...workers, coordinator].filter(Boolean).map((p) => p.stop()));
    await redis?.destroy();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('answers the gRPC health check with SERVING', async () => {
    assert.equal(await client.healthCheck(''), 'SERVING');
    assert.equal(await client.healthCheck('racefarm.v1.Farm'), 'SERVING');
  });

  it(`runs ${SCENARIO} / ${VARIANT} over ${SEEDS} seeds with exact totals and the local run's signatures`, async () => {
    const started = await client.startCampaign({ scenario_name: SCENARIO, variant_preset: VARIANT, strategy: 'random', seed_start: '0', seed_count: String(SEEDS), batch_size: 1000 });
    campaignId = started.id;
    assert.equal(started.jobsTotal, 20);
    assert.ok(['pending', 'running'].includes(started.state), started.state);
    const events: CampaignEvent[] = [];
    const last = await client.watchCampaign(campaignId, (e) => events.push(e), 60_000);
    assert.ok(last);
    assert.equal(last.state, 'done');
    const c = await client.getCampaign(campaignId);
    assert.equal(c.state, 'done');
    assert.equal(c.jobsDone, 20);
    assert.equal(c.schedules, SEEDS);
    assert.equal(c.schedules, local.schedules);
    assert.equal(c.steps, local.steps);
    assert.deepEqual(c.byOracle, local.byOracle);
    assert.ok(local.findings.some((f) => f.oracle === 'stale-read' && f.seed === 2041), 'the local run finds the stale-read at seed 2041');
    assert.equal(c.uniqueSignatures, local.findings.length);
    assert.equal(c.minimizePending, 0);

    const found = await client.listFindings(campaignId);
    const bySig = (a: { signature: string }, b: { signature: string }) => a.signature.localeCompare(b.signature);
    assert.deepEqual(
      found.map((f) => [f.signature, f.oracle, f.seed]).sort(),
      local.findings.map((f) => [f.signature, f.oracle, f.seed]).sort(),
      'one signature per distinct race, each at its lowest seed',
    );
    assert.ok(found.sort(bySig).every((f) => f.status === 'minimized'), JSON.stringify(found));

    // The stream showed progress and each finding.
    assert.ok(events.some((e) => 'finding' in e && e.finding.signature === local.findings[0].signature));
    assert.ok(events.filter((e) => 'progress' in e).length >= 2);
  });

  it('stores findings that replay (GetFinding, Reproduce, and `campaign findings --out` files)', async () => {
    for (const lf of local.findings) {
      const d = await client.getFinding(lf.signature);
      const f = checkFindingShape(JSON.parse(d.findingJson)) as Finding;
      const r = replayFinding(f);
      assert.ok(r.reproduced, r.reproduced ? '' : r.reason);
      assert.ok(r.signatureMatches);
      assert.equal(f.signature, lf.signature);
      assert.match(d.trace, />>/, 'the trace marks the violating step');
      const rep = await client.reproduce({ signature: lf.signature });
      assert.ok(rep.reproduced && rep.signatureMatches, rep.reason);
      const rep2 = await client.reproduce({ findingJson: d.findingJson });
      assert.ok(rep2.reproduced, rep2.reason);
    }
    const out = join(tmp, 'findings');
    const r = await runFarmCli(['campaign', 'findings', campaignId, '--out', out, '--coordinator', client.address]);
    assert.equal(r.code, 0, r.err);
    const files = readdirSync(out).sort();
    assert.deepEqual(files, local.findings.map((f) => `${SCENARIO}.${f.signature}.json`).sort());
    for (const file of files) {
      const f = checkFindingShape(JSON.parse(readFileSync(join(out, file), 'utf8')));
      const rr = replayFinding(f);
      assert.ok(rr.reproduced, rr.reproduced ? '' : rr.reason);
      // `npm run -s racefarm -- repro FILE` replays it locally.
      const repro = spawnSync(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'repro', join(out, file)], { cwd: ROOT, encoding: 'utf8' });
      assert.equal(repro.status, 0, repro.stderr);
      assert.match(repro.stdout, new RegExp(`REPRODUCED: ${f.oracle}`));
    }
  });

  it('rejects bad requests with INVALID_ARGUMENT naming the field, enqueueing nothing', async () => {
    const countsBefore = [await fuzzQueue.getJobCounts(), await minimizeQueue.getJobCounts()];
    const campaignsBefore = await conn.zcard(keys.campaigns);
    const ok = { scenario_name: SCENARIO, variant_preset: VARIANT, seed_count: '100' };
    await expectInvalid(client.startCampaign({ seed_count: '10' }), 'scenario_name');
    await expectInvalid(client.startCampaign({ ...ok, scenario_name: 'no-such-scenario' }), 'scenario_name');
    await expectInvalid(client.startCampaign({ ...ok, scenario_name: '', scenario_json: '{nope' }), 'scenario_json');
    const bad = structuredClone(catalogEntry(SCENARIO)!.scenario) as any;
    bad.threads[0].ops[0][1] = 'Z';
    await expectInvalid(client.startCampaign({ ...ok, scenario_name: '', scenario_json: JSON.stringify(bad) }), 'scenario_json.threads[0].ops[0]');
    await expectInvalid(client.startCampaign({ ...ok, variant_preset: 'v9.99' }), 'variant_preset');
    await expectInvalid(client.startCampaign({ ...ok, variant_preset: '', variant_json: '{"sites":{"cow.clearPte":"sometimes"}}' }), 'variant_json.sites.cow.clearPte');
    // The farm runs exhaustive campaigns (decision-prefix jobs, test/farm.exhaustive.test.ts), without seeds.
    await expectInvalid(client.startCampaign({ ...ok, strategy: 'exhaustive' }), 'seed_count');
    await expectInvalid(client.startCampaign({ ...ok, strategy: 'no-such-strategy' }), 'strategy');
    await expectInvalid(client.startCampaign({ ...ok, strategy: 'coverage' }), 'strategy');
    await expectInvalid(client.startCampaign({ ...ok, depth: 99 }), 'depth');
    await expectInvalid(client.startCampaign({ ...ok, seed_count: '0' }), 'seed_count');
    await expectInvalid(client.startCampaign({ ...ok, seed_count: '18446744073709551615' }), 'seed_count');
    await expectInvalid(client.startCampaign({ ...ok, seed_start: '9007199254740990' }), 'seed_start');
    await expectInvalid(client.startCampaign({ ...ok, batch_size: 2_000_000 }), 'batch_size');
    // Within what the validator accepts but past the farm's job limit (farm/limits.ts).
    await assert.rejects(client.startCampaign({ ...ok, seed_count: '1000000000', batch_size: 1 }), (e: any) => e.code === grpc.status.RESOURCE_EXHAUSTED && /^batch_size: /.test(e.details));
    await expectInvalid(client.getCampaign(''), 'id');
    await expectInvalid(client.getFinding('not a signature'), 'signature');
    await expectInvalid(client.reproduce({ findingJson: '{"format":"x"}' }), 'finding_json.format');
    assert.deepEqual([await fuzzQueue.getJobCounts(), await minimizeQueue.getJobCounts()], countsBefore);
    assert.equal(await conn.zcard(keys.campaigns), campaignsBefore);
    await assert.rejects(client.getCampaign('nosuchcampaign'), (e: any) => e.code === grpc.status.NOT_FOUND);
  });

  it('merges coverage features per campaign: the union over jobs equals the local run\'s', async () => {
    const sc = compileScenario(catalogEntry(SCENARIO)!.scenario);
    const v = resolvePreset(VARIANT);
    const want = runSeeds(sc, v, { name: 'random', depth: 3, kSteps: estimateSteps(sc, v.sites) }, 0, 3000, undefined, { coverage: true });
    const started = await client.startCampaign({ scenario_name: SCENARIO, variant_preset: VARIANT, seed_count: '3000', batch_size: 500, coverage: true });
    const last = await client.watchCampaign(started.id, () => {}, 60_000);
    assert.equal(last?.state, 'done');
    assert.equal(last?.coverage, true);
    assert.ok((want.coverage?.length ?? 0) > 0);
    assert.equal(last?.coverageFeatures, want.coverage?.length);
    assert.equal(last?.steps, want.steps);
    assert.equal(await conn.scard(keys.coverage(started.id)), want.coverage?.length);
    assert.deepEqual((await conn.smembers(keys.coverage(started.id))).sort(), want.coverage);
  });

  it('cancel removes the waiting jobs and stops the campaign', async () => {
    const started = await client.startCampaign({ scenario_name: SCENARIO, variant_preset: VARIANT, seed_count: '3000000', batch_size: 1000 });
    assert.equal(started.jobsTotal, 3000);
    const c = await client.cancelCampaign(started.id);
    assert.equal(c.state, 'cancelled');
    // The waiting jobs leave the queue in the background (CancelCampaign does not wait for them).
    await until(async () => {
      const counts = await fuzzQueue.getJobCounts('waiting', 'prioritized', 'delayed');
      return counts.waiting + counts.prioritized + counts.delayed === 0;
    }, 30_000, 'the waiting jobs removed');
    // Jobs already running at the cancel, and results already queued, are still recorded; then
    // nothing more: wait for the count to settle, and check it stays put with most jobs never run.
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    let settled = await client.getCampaign(started.id);
    for (let stable = 0, i = 0; stable < 3 && i < 40; i++) {
      await sleep(300);
      const now = await client.getCampaign(started.id);
      stable = now.jobsDone === settled.jobsDone ? stable + 1 : 0;
      settled = now;
    }
    await sleep(1000);
    const after = await client.getCampaign(started.id);
    assert.equal(after.state, 'cancelled');
    assert.equal(after.jobsDone, settled.jobsDone, `nothing runs after the cancel settled (${settled.jobsDone} → ${after.jobsDone})`);
    assert.ok(after.jobsDone < after.jobsTotal / 10, `most jobs never ran (${c.jobsDone} at the cancel, ${after.jobsDone} of ${after.jobsTotal} in the end)`);
    const r = await runFarmCli(['campaign', 'status', started.id, '--coordinator', client.address]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /state\s+cancelled/);
  });

  it('a worker with --concurrency 2 (worker threads) runs a campaign exactly and stops on SIGTERM', async () => {
    await Promise.all(workers.map((w) => w.stop()));
    workers = [await startWorkerProc(redis.url, { concurrency: 2 })];
    const want = localRun(50_000, 8000);
    const started = await client.startCampaign({ scenario_name: SCENARIO, variant_preset: VARIANT, seed_start: '50000', seed_count: '8000', batch_size: 500 });
    const last = await client.watchCampaign(started.id, () => {}, 60_000);
    assert.equal(last?.state, 'done');
    assert.equal(last?.schedules, 8000);
    assert.equal(last?.steps, want.steps);
    await workers[0].stop('SIGTERM');
    assert.equal(workers[0].exitCode, 0, workers[0].err);
  });

  it('the campaign CLI exits 2 on a bad request and names the field', async () => {
    const r = await runFarmCli(['campaign', 'start', '--scenario', SCENARIO, '--variant', 'v9.99', '--coordinator', client.address]);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /INVALID_ARGUMENT: variant_preset/);
  });
});

describe('farm coordinator with a bearer token', function () {
  this.timeout(60_000);
  let redis: TestRedis;
  let coordinator: FarmProc;
  let address = '';
  const clients: FarmClient[] = [];
  const mk = (token?: string) => {
    const c = new FarmClient(address, { token });
    clients.push(c);
    return c;
  };

  before(async () => {
    redis = await TestRedis.start();
    const c = await startCoordinatorProc(redis.url, { token: 's3cret' });
    coordinator = c.proc;
    address = c.address;
  });

  after(async () => {
    for (const c of clients) c.close();
    await coordinator?.stop();
    await redis?.destroy();
  });

  it('listens on loopback', () => {
    assert.match(address, /^127\.0\.0\.1:\d+$/);
  });

  it('answers UNAUTHENTICATED without the token or with a wrong one, on the Farm and health services', async () => {
    const unauth = (e: any) => e.code === grpc.status.UNAUTHENTICATED;
    await assert.rejects(mk().listCampaigns(), unauth);
    await assert.rejects(mk('wrong').listCampaigns(), unauth);
    await assert.rejects(mk().healthCheck(), unauth);
    await assert.rejects(mk().startCampaign({ scenario_name: SCENARIO, seed_count: '10' }), unauth);
    assert.equal(await redis_campaigns(redis.url), 0, 'nothing created');
  });

  it('serves calls that carry the token', async () => {
    const c = mk('s3cret');
    assert.equal(await c.healthCheck(), 'SERVING');
    assert.deepEqual(await c.listCampaigns(), []);
    const r = await runFarmCli(['campaign', 'list', '--coordinator', address], { RACEFARM_TOKEN: 's3cret' });
    assert.equal(r.code, 0, r.err);
  });
});

async function redis_campaigns(url: string): Promise<number> {
  const r = connectRedis(url);
  try {
    return await r.zcard(keys.campaigns);
  } finally {
    await r.quit();
  }
}
