import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { catalogEntry } from '../sim/scenario/catalog.ts';
import { compileScenario } from '../sim/scenario/compile.ts';
import { resolvePreset } from '../sim/variants/resolve.ts';
import { exhaustive, exhaustiveFindings, type ExhaustiveResult } from '../sim/schedule/exhaustive.ts';
import { replayFinding } from '../sim/replay.ts';
import { FarmClient, isGrpcError } from '../cli/farmClient.ts';
import type { CampaignView } from '../farm/store.ts';
import type { StartCampaignInput } from '../farm/campaign.ts';
import { TestFarm } from './helpers/testFarm.ts';
import { runFarmCli, until, type FarmProc } from './helpers/farm.ts';

/**
 * `campaign start --strategy exhaustive`: the search split by decision prefixes into one job each,
 * against the local search on the same scenario. Plain DFS (no_reduction) makes the split exact:
 * the certificate's schedule count is the local one. With the reduction each prefix job prunes only
 * within its subtree: the verdicts and completeness are the local ones, the counts at least its.
 */
const CLEAN = { scenario: 'kvm-stale-spte', variant: 'v4.13', bound: 2 };
const RACY = { scenario: 'writeback-device-write', variant: 'no-mkclean-invalidate', bound: 2 };
const MAX = 1_000_000;

function local(c: { scenario: string; variant: string; bound: number }, reduction: boolean): ExhaustiveResult {
  const sc = compileScenario(catalogEntry(c.scenario)!.scenario);
  return exhaustive(sc, resolvePreset(c.variant).sites, { bound: c.bound, reduction, stopAtFirst: true, maxSchedules: MAX });
}

describe('farm exhaustive campaigns (decision-prefix jobs)', function () {
  this.timeout(120_000);
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

  const request = (c: { scenario: string; variant: string; bound: number }, extra: Partial<StartCampaignInput> = {}): StartCampaignInput => ({
    scenario_name: c.scenario,
    variant_preset: c.variant,
    strategy: 'exhaustive',
    preemptions: c.bound,
    split: 48,
    ...extra,
  });

  async function finish(id: string): Promise<CampaignView> {
    return until(async () => {
      const v = await client.getCampaign(id);
      return v.state === 'done' ? v : undefined;
    }, 90_000, `campaign ${id} done`, 100);
  }

  it('plain DFS, a worker killed (-9) mid-campaign: the certificate is the local search exactly', async () => {
    const want = local(CLEAN, false);
    assert.ok(want.complete);
    const started = await client.startCampaign(request(CLEAN, { no_reduction: true }));
    assert.equal(started.strategy, 'exhaustive');
    assert.ok(started.jobsTotal >= 48, `split into ${started.jobsTotal} prefix jobs`);
    const mid = await until(async () => {
      const v = await client.getCampaign(started.id);
      return v.jobsDone >= 5 ? v : undefined;
    }, 60_000, '5 prefix jobs recorded', 20);
    assert.ok(mid.jobsDone < mid.jobsTotal, `the kill lands mid-campaign (${mid.jobsDone}/${mid.jobsTotal})`);
    await workers[0].stop('SIGKILL');
    const done = await finish(started.id);
    const x = done.certificate!;
    assert.equal(done.jobsDone, done.jobsTotal, 'every prefix job recorded once');
    assert.equal(x.complete, true);
    assert.equal(x.stoppedBy, null);
    assert.equal(x.exact, true);
    assert.equal(x.bound, CLEAN.bound);
    assert.equal(x.schedules, want.schedules, 'schedules equal the unsplit search');
    assert.equal(x.pruned, want.pruned);
    assert.deepEqual(x.verdicts, want.verdicts);
    assert.equal(x.prefixesDone, x.prefixes);
    assert.equal(done.schedules, want.schedules, 'the campaign counts each prefix job once');
    assert.equal(done.uniqueSignatures, 0);
  });

  it('with the reduction (started by the CLI): same verdicts and completeness as the local search; status and watch print the certificate', async () => {
    const want = local(CLEAN, true);
    // Started by the CLI (its seed options' defaults are not sent for an exhaustive campaign).
    const cli = await runFarmCli(['campaign', 'start', '--scenario', CLEAN.scenario, '--variant', CLEAN.variant, '--strategy', 'exhaustive', '--preemptions', String(CLEAN.bound), '--split', '48', '--json', '--coordinator', address]);
    assert.equal(cli.code, 0, cli.err);
    const started = JSON.parse(cli.out) as CampaignView;
    assert.equal(started.strategy, 'exhaustive');
    const done = await finish(started.id);
    const x = done.certificate!;
    assert.equal(x.complete, want.complete);
    assert.deepEqual(x.verdicts, want.verdicts);
    assert.equal(x.exact, false);
    assert.ok(x.schedules >= want.schedules, `${x.schedules} ≥ ${want.schedules}: each job prunes only within its subtree`);
    const status = await runFarmCli(['campaign', 'status', started.id, '--coordinator', address]);
    assert.equal(status.code, 0, status.err);
    assert.match(status.out, new RegExp(`certificate complete: no violation within K=${CLEAN.bound} preemptions in ${x.schedules} schedules`));
    const watch = await runFarmCli(['campaign', 'watch', started.id, '--coordinator', address]);
    assert.equal(watch.code, 0, watch.err);
    assert.match(watch.out, new RegExp(`${started.id} done: .*certificate complete`));
  });

  it('a race: the first in search order, the local search\'s first finding, with its schedule count; the finding replays', async () => {
    const want = local(RACY, false);
    assert.ok(want.finding, 'the local search finds a race');
    const sc = compileScenario(catalogEntry(RACY.scenario)!.scenario);
    const first = exhaustiveFindings(sc, resolvePreset(RACY.variant), want)[0];
    const started = await client.startCampaign(request(RACY, { no_reduction: true, split: 16 }));
    const done = await finish(started.id);
    const x = done.certificate!;
    assert.equal(x.complete, false);
    assert.equal(x.stoppedBy, 'race');
    assert.equal(x.race!.oracle, first.oracle);
    assert.equal(x.race!.signature, first.signature);
    assert.equal(x.schedules, want.schedules, 'schedules up to the race equal the unsplit search');
    assert.deepEqual(x.verdicts, want.verdicts);
    const found = await client.listFindings(started.id);
    assert.ok(found.some((f) => f.signature === first.signature && f.seed === x.race!.prefix), 'the finding, at its prefix index');
    const d = await client.getFinding(first.signature);
    const r = replayFinding(JSON.parse(d.findingJson));
    assert.ok(r.reproduced, r.reproduced ? '' : r.reason);
  });

  it('bad input names the field: seeds on an exhaustive campaign, preemptions on a random one', async () => {
    for (const [req, field] of [
      [request(CLEAN, { seed_count: '100' }), 'seed_count'],
      [request(CLEAN, { split: 1_000_000 }), 'split'],
      [{ scenario_name: CLEAN.scenario, seed_count: '10', preemptions: 1 }, 'preemptions'],
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
