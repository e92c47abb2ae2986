import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalogEntry } from '../sim/scenario/catalog.ts';
import { compileScenario } from '../sim/scenario/compile.ts';
import { resolvePreset } from '../sim/variants/resolve.ts';
import { estimateSteps } from '../sim/schedule/strategy.ts';
import { runSeeds } from '../sim/fuzz.ts';
import { fuzzJobId } from '../farm/jobs.ts';
import { keys } from '../farm/keys.ts';
import type { FindingSummary } from '../farm/store.ts';
import { TestFarm } from './helpers/testFarm.ts';
import { ROOT, runFarmCli, until } from './helpers/farm.ts';
import { runProcess, type Ran } from './helpers/run.ts';

// The case: kvm-stale-spte × kvm-no-retry finds its three signatures in every range of
// 1,000 seeds, so whichever range finishes first sets what the farm shows unless it keeps the lowest.
const SCENARIO = 'kvm-stale-spte';
const VARIANT = 'kvm-no-retry';
const SEEDS = 4000;
const BATCH = 1000;

describe('farm findings: the lowest seed per signature in every view, whatever order the ranges finish in', function () {
  this.timeout(120_000);
  let farm: TestFarm;
  const tmp = mkdtempSync(join(tmpdir(), 'racefarm-order-'));
  const sc = compileScenario(catalogEntry(SCENARIO)!.scenario);
  const v = resolvePreset(VARIANT);
  const local = runSeeds(sc, v, { name: 'random', depth: 3, kSteps: estimateSteps(sc, v.sites) }, 0, SEEDS);
  const lowest = new Map(local.findings.map((f) => [f.signature, f.seed]));
  let id = '';

  const localDir = join(tmp, 'local');
  let localFuzz: Promise<Ran>;

  before(async () => {
    // Local `fuzz` over the same seeds, in parallel with the farm's start: the files it writes are the reference.
    localFuzz = runProcess(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'fuzz', '--scenario', SCENARIO, '--variant', VARIANT, '--seeds', String(SEEDS), '--workers', '1', '--out', localDir, '--json'], ROOT);
    farm = await TestFarm.start();
  });
  after(async () => {
    await farm?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('runs the first range last: the finding minimized from a later range is replaced by the lowest seed and minimized again', async () => {
    assert.ok(local.findings.length >= 2 && local.findings.every((f) => f.seed < BATCH), `every signature's lowest seed is in the first range: ${[...lowest].join(' ')}`);
    const started = await farm.client.startCampaign({ scenario_name: SCENARIO, variant_preset: VARIANT, seed_count: String(SEEDS), batch_size: BATCH });
    id = started.id;
    // Hold the first range back (no worker runs yet), let the others run and their findings be minimized.
    const first = await farm.fuzz.getJob(fuzzJobId(id, 0));
    assert.ok(first, 'the first range is queued');
    const data = first.data;
    await first.remove();
    await farm.addWorker();
    const partial = await until(async () => {
      const c = await farm.client.getCampaign(id);
      return c.jobsDone === SEEDS / BATCH - 1 && c.minimizePending === 0 ? c : undefined;
    }, 60_000, 'the later ranges recorded and minimized');
    assert.equal(partial.state, 'running');
    const before = await farm.client.listFindings();
    assert.deepEqual(before.map((f) => f.signature).sort(), [...lowest.keys()].sort());
    for (const f of before) {
      assert.equal(f.status, 'minimized');
      assert.ok(f.seed >= BATCH, `${f.signature} first stored from a later range (seed ${f.seed})`);
    }

    await farm.fuzz.add('fuzz', data, { jobId: fuzzJobId(id, 0), priority: 1 });
    const done = await until(async () => {
      const c = await farm.client.getCampaign(id);
      return c.state === 'done' ? c : undefined;
    }, 60_000, 'the campaign done');
    assert.equal(done.schedules, SEEDS);
    assert.equal(done.minimizePending, 0);
    for (const sig of lowest.keys()) assert.equal(await farm.conn.hget(keys.finding(sig), 'gen'), '2', `${sig} minimized again for its lower seed`);
  });

  const seeds = (list: FindingSummary[]) => Object.fromEntries(list.map((f) => [f.signature, f.seed]));

  it('campaign findings <id>, campaign findings (all), GetFinding and the web view all show the lowest seed', async () => {
    const want = Object.fromEntries(lowest);
    assert.deepEqual(seeds(await farm.client.listFindings(id)), want);
    const all = await farm.client.listFindings();
    assert.deepEqual(seeds(all), want);
    assert.ok(all.every((f) => f.status === 'minimized'), JSON.stringify(all));
    const metricsUrl = farm.coordinator.out.match(/coordinator metrics on (\S+)/)![1];
    for (const [sig, seed] of lowest) {
      for (const d of [await farm.client.getFinding(sig), await farm.client.getFinding(sig, id)]) {
        assert.equal(d.summary.seed, seed);
        assert.equal(JSON.parse(d.findingJson).seed, seed);
        assert.equal(d.reason, '');
      }
      const web = (await (await fetch(new URL(`/findings/${sig}/found.json`, metricsUrl))).json()) as { seed: number };
      assert.equal(web.seed, seed, `web view ${sig}`);
    }
    // Each signature counts once as new to the farm, though it was queued twice.
    const text = await (await fetch(metricsUrl)).text();
    const counted = text.split('\n').filter((l) => l.startsWith('racefarm_unique_signatures_total{')).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    assert.equal(counted, lowest.size, text.split('\n').filter((l) => l.includes('unique_signatures')).join('\n'));
  });

  it('--out writes the files local `fuzz` writes over the same seeds (same names, same shrunk findings)', async () => {
    const r = await localFuzz;
    assert.equal(r.code, 0, r.stderr);
    const want = readdirSync(localDir).sort();
    assert.deepEqual(want, [...lowest.keys()].map((s) => `${SCENARIO}.${s}.json`).sort());
    for (const args of [['campaign', 'findings', id], ['campaign', 'findings']]) {
      const out = join(tmp, args.length === 3 ? 'campaign' : 'all');
      const c = await runFarmCli([...args, '--out', out, '--coordinator', farm.address]);
      assert.equal(c.code, 0, c.err);
      assert.deepEqual(readdirSync(out).sort(), want, args.join(' '));
      for (const file of want) {
        assert.deepEqual(JSON.parse(readFileSync(join(out, file), 'utf8')), JSON.parse(readFileSync(join(localDir, file), 'utf8')), `${args.join(' ')}: ${file}`);
      }
    }
  });

  it("a second scenario with the same signatures: each campaign's --out writes its own scenario's files, none overwritten", async () => {
    // The same program under another name finds the same races (the signature leaves the scenario out) at the same seeds.
    const copy = { ...catalogEntry(SCENARIO)!.scenario, name: `${SCENARIO}-copy` };
    const b = await farm.client.startCampaign({ scenario_json: JSON.stringify(copy), variant_preset: VARIANT, seed_count: String(BATCH), batch_size: BATCH });
    await until(async () => (await farm.client.getCampaign(b.id)).state === 'done', 60_000, 'the second campaign done');
    const listed = await farm.client.listFindings(b.id);
    assert.deepEqual(seeds(listed), Object.fromEntries(lowest));
    assert.ok(listed.every((f) => f.scenario === copy.name));
    const out = join(tmp, 'both');
    for (const c of [id, b.id]) {
      const r = await runFarmCli(['campaign', 'findings', c, '--out', out, '--coordinator', farm.address]);
      assert.equal(r.code, 0, r.err);
      // The farm shrinks one finding per signature (the first campaign's: equal seeds, the smaller text):
      // the second campaign's files are as it found them, and the CLI says so.
      if (c === b.id) for (const sig of lowest.keys()) assert.match(r.err, new RegExp(`finding ${sig}: not minimized: .*campaign ${b.id}'s finding as found`));
    }
    const want = [...lowest.keys()].flatMap((s) => [`${SCENARIO}.${s}.json`, `${copy.name}.${s}.json`]).sort();
    assert.deepEqual(readdirSync(out).sort(), want);
    for (const [sig, seed] of lowest) {
      for (const name of [SCENARIO, copy.name]) {
        const f = JSON.parse(readFileSync(join(out, `${name}.${sig}.json`), 'utf8'));
        assert.equal(f.scenario.name, name);
        assert.equal(f.seed, seed);
      }
    }
  });
});
