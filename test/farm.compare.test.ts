import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { catalogEntry } from '../sim/scenario/catalog.ts';
import { compileScenario } from '../sim/scenario/compile.ts';
import { PRESETS } from '../sim/variants/presets.ts';
import { ALL_ORACLES } from '../sim/oracles/classes.ts';
import { DEFAULT_CELL_BUDGET, type CellBudget, type CellResult } from '../sim/compare/cell.ts';
import { replayFinding } from '../sim/replay.ts';
import { runMatrix } from '../cli/compare.ts';
import { FarmClient, isGrpcError } from '../cli/farmClient.ts';
import type { ComparisonView } from '../farm/comparisonStore.ts';
import { TestRedis } from './helpers/redis.ts';
import { runFarmCli, startCoordinatorProc, startWorkerProc, until, type FarmProc } from './helpers/farm.ts';

/**
 * `campaign compare` / StartComparison: the local `racefarm compare` matrix with every cell's
 * searches and seed campaigns run as farm campaigns, decided by the same generator
 * (sim/compare/cell.ts cellSteps). Cell kinds, oracles and signatures must be the local ones.
 * Schedule counts are not compared: with the reduction each prefix job prunes only within its own
 * subtree (docs/farm.md, "Exhaustive campaigns"); the budget below is far from every search's size
 * (at most 600 executions split, 1,500 allowed), so no cell's verdict sits on it.
 */
const SCENARIOS = ['soft-dirty-device-write', 'writeback-device-write'];
const VARIANTS = ['v4.10', 'no-clear-refs-invalidate'];
const BUDGET: CellBudget = { ...DEFAULT_CELL_BUDGET, bound: 2, maxSchedules: 1500, seeds: 300 };

const same = (c: CellResult) => ({ scenario: c.scenario, variant: c.variant, kind: c.kind, oracle: c.oracle, class: c.class, signature: c.signature, bound: c.bound, complete: c.complete, foundBy: c.foundBy });

describe('farm comparisons (campaign compare)', function () {
  this.timeout(240_000);
  let redis: TestRedis;
  let coordinator: FarmProc;
  let address = '';
  let workers: FarmProc[] = [];
  let client: FarmClient;
  let tmp: string;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'racefarm-farm-compare-'));
    redis = await TestRedis.start();
    const c = await startCoordinatorProc(redis.url);
    coordinator = c.proc;
    address = c.address;
    client = new FarmClient(address);
    workers = await Promise.all([startWorkerProc(redis.url), startWorkerProc(redis.url)]);
  });

  after(async () => {
    client?.close();
    await Promise.all([...workers, coordinator].filter(Boolean).map((p) => p.stop()));
    await redis?.destroy();
    rmSync(tmp, { recursive: true, force: true });
  });

  async function finish(id: string): Promise<ComparisonView> {
    return until(async () => {
      const v = await client.getComparison(id);
      return v.state !== 'running' ? v : undefined;
    }, 200_000, `comparison ${id} finished`, 250);
  }

  it('2 variants × 2 scenarios: the same cell kinds, oracles and signatures as the local compare; status shows the matrix', async () => {
    const scenarios = SCENARIOS.map((n) => compileScenario(catalogEntry(n)!.scenario).source);
    const local = await runMatrix(scenarios, VARIANTS.map((v) => PRESETS.get(v)!), BUDGET, ALL_ORACLES, 1);
    const started = await client.startComparison({
      scenarios: SCENARIOS.map((name) => ({ name })),
      variants: VARIANTS.map((preset) => ({ preset })),
      preemptions: BUDGET.bound,
      seeds: BUDGET.seeds,
      max_schedules: String(BUDGET.maxSchedules),
      request_id: 'cmp-2x2',
    });
    assert.equal(started.cells.length, 4);
    // A retry with the same request id is the same comparison.
    assert.equal((await client.startComparison({ scenarios: SCENARIOS.map((name) => ({ name })), variants: VARIANTS.map((preset) => ({ preset })), preemptions: BUDGET.bound, seeds: BUDGET.seeds, max_schedules: String(BUDGET.maxSchedules), request_id: 'cmp-2x2' })).id, started.id);
    const done = await finish(started.id);
    assert.equal(done.state, 'done', JSON.stringify(done.cells.map((c) => c.error)));
    assert.deepEqual(done.scenarios, SCENARIOS);
    assert.deepEqual(done.variants, VARIANTS);
    const farm = done.cells.map((c) => c.result!);
    assert.deepEqual(farm.map(same), local.cells.map(same));
    // Every kind the exhaustive search decides shows up: certified, race, invariant.
    assert.deepEqual(new Set(farm.map((c) => c.kind)), new Set(['certified', 'race', 'invariant']));
    for (const c of farm) {
      if (c.finding === null) continue;
      const r = replayFinding(c.finding);
      assert.ok(r.reproduced && r.signatureMatches, `${c.scenario} × ${c.variant}: the farm's minimized finding replays`);
      assert.ok(c.steps! <= c.stepsBefore!);
    }
    // Each cell's searches ran as campaigns: one per search (two for the invariant cell).
    for (const c of done.cells) assert.ok(c.campaigns.length >= 1 && c.campaigns.every((id) => /^c/.test(id)));
    const status = await runFarmCli(['campaign', 'status', started.id, '--coordinator', address]);
    assert.equal(status.code, 0, status.err);
    assert.match(status.out, new RegExp(`comparison ${started.id}\\n`));
    assert.match(status.out, /state +done/);
    assert.match(status.out, /cells +4\/4/);
    assert.match(status.out, /soft-dirty-device-write .*certified/);
  });

  it('an incomplete search falls back to random + pct seed campaigns; the CLI prints the local json matrix', async () => {
    const budget: CellBudget = { ...BUDGET, maxSchedules: 50, seeds: 200 };
    const local = await runMatrix([compileScenario(catalogEntry('soft-dirty-device-write')!.scenario).source], [PRESETS.get('v4.15')!], budget, ALL_ORACLES, 1);
    assert.equal(local.cells[0].kind, 'clean');
    const r = await runFarmCli(['campaign', 'compare', '--variants', 'v4.15', '--scenarios', 'soft-dirty-device-write', '--preemptions', '2', '--max-schedules', '50', '--seeds', '200', '--format', 'json', '--out', tmp, '--coordinator', address]);
    assert.equal(r.code, 0, r.err);
    const out = JSON.parse(r.out) as { cells: Record<string, unknown>[] };
    assert.equal(out.cells.length, 1);
    const c = out.cells[0];
    assert.deepEqual(
      { scenario: c.scenario, variant: c.variant, kind: c.kind, oracle: c.oracle, signature: c.signature, complete: c.complete, file: c.file },
      { scenario: 'soft-dirty-device-write', variant: 'v4.15', kind: 'clean', oracle: null, signature: null, complete: false, file: null },
    );
  });

  it('a coordinator killed (-9) mid-comparison: the restarted one resumes it, no campaign runs twice, the same cells', async () => {
    const scenario = 'writeback-device-write';
    const scenarios = [compileScenario(catalogEntry(scenario)!.scenario).source];
    const local = await runMatrix(scenarios, VARIANTS.map((v) => PRESETS.get(v)!), BUDGET, ALL_ORACLES, 1);
    const started = await client.startComparison({
      scenarios: [{ name: scenario }],
      variants: VARIANTS.map((preset) => ({ preset })),
      preemptions: BUDGET.bound,
      seeds: BUDGET.seeds,
      max_schedules: String(BUDGET.maxSchedules),
      split: 32,
    });
    const mid = await until(async () => {
      const v = await client.getComparison(started.id);
      return v.cells.some((x) => x.campaigns.length > 0) ? v : undefined;
    }, 60_000, 'a cell campaign started', 20);
    assert.ok(mid.state === 'running' && mid.cells.some((x) => x.state !== 'done'), 'the kill lands mid-comparison');
    await coordinator.stop('SIGKILL');
    client.close();
    const c = await startCoordinatorProc(redis.url, { grpc: address });
    coordinator = c.proc;
    client = new FarmClient(address);
    const done = await finish(started.id);
    assert.equal(done.state, 'done', JSON.stringify(done.cells.map((x) => x.error)));
    assert.deepEqual(done.cells.map((x) => same(x.result!)), local.cells.map(same));
    // One campaign per cell step, however often the steps were driven.
    const names = (await client.listCampaigns(1000)).map((x) => x.name).filter((n) => n.startsWith(`${started.id} `));
    assert.equal(new Set(names).size, names.length, `no step started twice: ${names.join(', ')}`);
    assert.equal(names.length, done.cells.reduce((n, x) => n + x.campaigns.length, 0));
  });

  it('bad input names the field: an unknown scenario, a variant listed twice', async () => {
    for (const [req, field] of [
      [{ scenarios: [{ name: 'no-such' }], variants: [{ preset: 'v4.13' }] }, 'scenarios[0].name'],
      [{ scenarios: [{ name: 'soft-dirty-device-write' }], variants: [{ preset: 'v4.13' }, { preset: 'v4.13' }] }, 'variants'],
    ] as const) {
      await assert.rejects(client.startComparison(req as never), (e: unknown) => {
        assert.ok(isGrpcError(e));
        assert.equal(e.code, grpc.status.INVALID_ARGUMENT, e.details);
        assert.ok(e.details.startsWith(`${field}:`), e.details);
        return true;
      });
    }
    const cli = await runFarmCli(['campaign', 'compare', '--variants', 'v4.13,nope', '--scenarios', 'soft-dirty-device-write', '--coordinator', address]);
    assert.equal(cli.code, 2, cli.err);
    assert.match(cli.err, /--variants/);
  });

  it('cancel: the comparison ends cancelled, its cells\' campaigns are cancelled, no further step starts; idempotent; the CLI routes a comparison id', async () => {
    // cow-two-pages at K=2 needs about a million schedules: its search is still running when cancelled.
    const started = await client.startComparison({
      scenarios: [{ name: 'cow-two-pages' }],
      variants: [{ preset: 'v4.13' }, { preset: 'v4.15' }],
      preemptions: 2,
      seeds: 1000,
      max_schedules: '1000000',
      split: 16,
    });
    await until(async () => (await client.getComparison(started.id)).cells.some((x) => x.campaigns.length > 0), 60_000, 'a cell campaign started', 20);
    const cancelled = await client.cancelComparison(started.id);
    assert.equal(cancelled.state, 'cancelled');
    const campaignsOf = async () => (await client.getComparison(started.id)).cells.flatMap((x) => x.campaigns).sort();
    const at = await campaignsOf();
    assert.ok(at.length > 0);
    await new Promise((r) => setTimeout(r, 3000));
    assert.deepEqual(await campaignsOf(), at, 'no step started after the cancel');
    for (const id of at) {
      const v = await client.getCampaign(id);
      assert.ok(v.state === 'cancelled' || v.state === 'done', `campaign ${id} is ${v.state}`);
    }
    assert.ok((await Promise.all(at.map((id) => client.getCampaign(id)))).some((v) => v.state === 'cancelled'), 'the running search was cancelled');
    assert.equal((await client.cancelComparison(started.id)).state, 'cancelled', 'a second cancel');
    const r = await runFarmCli(['campaign', 'cancel', started.id, '--coordinator', address]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^state +cancelled$/m);
    await assert.rejects(client.cancelComparison('xnosuchcomparison'), (e: unknown) => isGrpcError(e) && e.code === grpc.status.NOT_FOUND);
  });
});
