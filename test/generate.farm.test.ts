import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { explorePrograms } from '../sim/generate/explore.ts';
import { programSeedOf } from '../sim/generate/generation.ts';
import { OBSERVABLE_ORACLES } from '../sim/oracles/classes.ts';
import { replayFinding } from '../sim/replay.ts';
import { PRESETS } from '../sim/variants/presets.ts';
import { FarmClient, isGrpcError } from '../cli/farmClient.ts';
import { WorkerMetrics } from '../farm/metrics.ts';
import type { CampaignView } from '../farm/store.ts';
import type { StartCampaignInput } from '../farm/campaign.ts';
import { TestFarm } from './helpers/testFarm.ts';
import { runFarmCli, until, type FarmProc } from './helpers/farm.ts';

/**
 * Explore campaigns on the farm (farm/exploreCampaign.ts): program seed ranges as jobs, against
 * `racefarm explore`'s local loop over the same programs. Real Redis, real gRPC, real worker
 * processes; one worker killed (-9) mid-campaign.
 */
const VARIANT = 'range-end-only';
const PROGRAMS = 40;

describe('farm explore campaigns (program seed ranges)', function () {
  this.timeout(180_000);
  let farm: TestFarm;
  let address = '';
  let workers: FarmProc[] = [];
  let client: FarmClient;

  before(async () => {
    farm = await TestFarm.start();
    ({ address, client } = farm);
  });

  beforeEach(async () => {
    workers = await farm.keepWorkers(2);
  });

  after(async () => {
    await farm?.stop();
  });

  async function finish(id: string): Promise<CampaignView> {
    return until(async () => {
      const v = await client.getCampaign(id);
      return v.state === 'done' && v.minimizePending === 0 ? v : undefined;
    }, 150_000, `campaign ${id} done and minimized`, 100);
  }

  it('a worker killed mid-campaign: every program counted once, the local explore\'s schedules and signatures, findings shrunk as programs', async () => {
    const local = explorePrograms(0, PROGRAMS, { variant: PRESETS.get(VARIANT)!, schedules: 100, strategy: 'mixed', oracles: OBSERVABLE_ORACLES });
    assert.ok(local.findings.length > 0, 'the local run finds something in these programs');
    const req: StartCampaignInput = { explore: true, variant_preset: VARIANT, seed_count: String(PROGRAMS), batch_size: 2 };
    const started = await client.startCampaign(req);
    assert.equal(started.strategy, 'explore');
    assert.equal(started.jobsTotal, PROGRAMS / 2);
    const mid = await until(async () => {
      const v = await client.getCampaign(started.id);
      return v.jobsDone >= 2 ? v : undefined;
    }, 60_000, '2 program ranges recorded', 10);
    assert.ok(mid.jobsDone < mid.jobsTotal, `the kill lands mid-campaign (${mid.jobsDone}/${mid.jobsTotal})`);
    await workers[0].stop('SIGKILL');
    const done = await finish(started.id);
    assert.equal(done.jobsDone, done.jobsTotal, 'every program range recorded once');
    assert.equal(done.seedCount, PROGRAMS);
    assert.equal(done.schedules, local.schedules, 'schedules equal the local explore of the same programs');
    assert.equal(done.steps, local.steps);
    const found = await client.listFindings(started.id);
    const want = new Set(local.findings.map((f) => f.finding.signature));
    assert.deepEqual(new Set(found.map((f) => f.signature)), want, 'the same unique signatures');
    for (const f of found) {
      assert.equal(f.status, 'minimized', `${f.signature} minimized`);
      const d = await client.getFinding(f.signature);
      const shrunk = JSON.parse(d.findingJson);
      const r = replayFinding(shrunk);
      assert.ok(r.reproduced && r.signatureMatches, `${f.signature} replays with its signature`);
      const raw = local.findings.find((x) => x.finding.signature === f.signature)!;
      assert.equal(programSeedOf(shrunk.scenario), raw.programSeed, 'the shrunk finding names its program');
      const ops = (s: { threads: { ops: unknown[] }[] }) => s.threads.reduce((n, t) => n + t.ops.length, 0);
      assert.ok(ops(shrunk.scenario) <= ops(raw.finding.scenario), 'the program was shrunk, not grown');
    }
  });

  it('a worker counts the programs it ran (racefarm_programs_total)', async () => {
    const m = new WorkerMetrics({ defaultMetrics: false });
    m.record({ kind: 'fuzz', labels: { campaign: 'c1', scenario: 'explore', variant: VARIANT, strategy: 'explore' }, schedules: 300, steps: 9000, seconds: 0.1, programs: 3 });
    m.record({ kind: 'fuzz', labels: { campaign: 'c2', scenario: 'cow-two-pages', variant: VARIANT, strategy: 'random' }, schedules: 100, steps: 900, seconds: 0.1 });
    const text = await m.registry.metrics();
    assert.match(text, /racefarm_programs_total\{campaign="c1",scenario="explore",variant="range-end-only",strategy="explore"\} 3/);
    assert.doesNotMatch(text, /racefarm_programs_total\{campaign="c2"/);
  });

  it('campaign start --explore from the CLI; bad input names the field', async () => {
    const cli = await runFarmCli(['campaign', 'start', '--explore', '--variant', 'v4.13', '--programs', '6', '--schedules', '10', '--batch', '3', '--json', '--coordinator', address]);
    assert.equal(cli.code, 0, cli.err);
    const c = JSON.parse(cli.out);
    assert.equal(c.seedCount, 6);
    assert.equal(c.jobsTotal, 2);
    const done = await finish(c.id);
    assert.equal(done.schedules, 60);
    const noScenario = await runFarmCli(['campaign', 'start', '--explore', '--scenario', 'cow-two-pages', '--coordinator', address]);
    assert.equal(noScenario.code, 2);
    assert.match(noScenario.err, /--scenario: an explore campaign generates its programs/);
    for (const [req, field] of [
      [{ explore: true, scenario_name: 'cow-two-pages', seed_count: '5' }, 'scenario_name'],
      [{ explore: true, seed_count: '5', strategy: 'exhaustive' }, 'strategy'],
      [{ explore: true, seed_count: '5', schedules_per_program: 1_000_000 }, 'schedules_per_program'],
      [{ explore: true, seed_count: '0' }, 'seed_count'],
      [{ scenario_name: 'cow-two-pages', seed_count: '5', schedules_per_program: 5 }, 'schedules_per_program'],
    ] as [StartCampaignInput, string][]) {
      await assert.rejects(client.startCampaign(req), (e: unknown) => {
        assert.ok(isGrpcError(e));
        assert.equal(e.code, grpc.status.INVALID_ARGUMENT, e.details);
        assert.match(e.details, new RegExp(`^${field}:`));
        return true;
      });
    }
  });
});
