import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runProcess, type Ran } from './helpers/run.ts';
import { catalogEntry } from '../sim/scenario/catalog.ts';
import { compileScenario } from '../sim/scenario/compile.ts';
import { PRESETS } from '../sim/variants/presets.ts';
import { runOnce } from '../sim/run.ts';
import { runSeeds } from '../sim/fuzz.ts';
import { replayFinding } from '../sim/replay.ts';
import { AUTO_DEPTHS, PCT_AUTO_DEPTH, pctDepth } from '../sim/schedule/pct.ts';
import { estimateSteps, makeChooser, seedStrategy, threadCount, type StrategySpec } from '../sim/schedule/strategy.ts';
import type { Finding } from '../sim/finding.ts';

/**
 * PCT `--depth auto` (sim/schedule/pct.ts): each seed runs at a depth derived from the seed alone,
 * and a finding records that depth, so the seed replays as an explicit-depth run.
 */
const entry = catalogEntry('cow-two-pages')!;
const sc = compileScenario(entry.scenario);
const variant = PRESETS.get(entry.buggyVariant)!;
const kSteps = estimateSteps(sc, variant.sites);
const threads = threadCount(sc);
const auto: StrategySpec = { name: 'pct', depth: PCT_AUTO_DEPTH, kSteps };
const run = (spec: StrategySpec, seed: number) => runOnce(sc, variant.sites, makeChooser(spec, seed, threads));

describe('pct --depth auto', function () {
  this.timeout(20_000);

  it('derives each seed\'s depth from the seed alone, every auto depth in any four consecutive seeds; an explicit depth stays', () => {
    for (const seed of [0, 1, 2, 3, 4, 1_660, 999_999, 2 ** 40 + 7]) {
      const d = pctDepth(PCT_AUTO_DEPTH, seed);
      assert.ok(AUTO_DEPTHS.includes(d), `seed ${seed}: depth ${d}`);
      assert.equal(pctDepth(PCT_AUTO_DEPTH, seed), d, 'same seed, same depth');
      assert.deepEqual(
        new Set([0, 1, 2, 3].map((i) => pctDepth(PCT_AUTO_DEPTH, seed + i))),
        new Set(AUTO_DEPTHS),
        `seeds ${seed}..${seed + 3} cover every auto depth`,
      );
      for (const explicit of [1, 3, 4, 64]) assert.equal(pctDepth(explicit, seed), explicit);
    }
    assert.deepEqual(seedStrategy({ name: 'random', depth: PCT_AUTO_DEPTH, kSteps }, 5), { name: 'random', depth: PCT_AUTO_DEPTH, kSteps }, 'only pct resolves a depth');
  });

  it('an auto seed runs the same schedule twice, and the schedule of an explicit run at its depth', () => {
    const depths = new Set<number>();
    for (let seed = 0; seed < 200; seed++) {
      const a = run(auto, seed);
      assert.deepEqual(run(auto, seed).decisions, a.decisions, `seed ${seed}: deterministic`);
      const d = pctDepth(PCT_AUTO_DEPTH, seed);
      depths.add(d);
      const e = run({ name: 'pct', depth: d, kSteps }, seed);
      assert.deepEqual(e.decisions, a.decisions, `seed ${seed}: auto = depth ${d}`);
      assert.deepEqual(e.violations, a.violations);
    }
    assert.equal(depths.size, AUTO_DEPTHS.length);
  });

  it('a pct-auto finding records the depth its seed ran at, and replays', () => {
    // The first stale-read under auto is seed 19 (depth 6).
    const b = runSeeds(sc, variant, auto, 0, 500, undefined, { oracles: new Set(['stale-read']) });
    const f = b.findings.find((x) => x.oracle === 'stale-read');
    assert.ok(f, `no stale-read in 500 auto seeds: ${JSON.stringify(b.byOracle)}`);
    assert.equal(f.strategy.name, 'pct');
    assert.equal(f.strategy.depth, pctDepth(PCT_AUTO_DEPTH, f.seed), 'the resolved depth, not "auto"');
    assert.notEqual(f.strategy.depth, PCT_AUTO_DEPTH);
    // The recorded strategy and seed alone give the recorded schedule and the same violation.
    const again = runOnce(sc, variant.sites, makeChooser(f.strategy as StrategySpec, f.seed, threads));
    assert.deepEqual(again.decisions, f.decisions);
    assert.ok(again.violations.some((v) => v.oracle === 'stale-read'));
    const r = replayFinding(f);
    assert.ok(r.reproduced, r.reproduced ? '' : r.reason);
    assert.ok(r.signatureMatches);
  });

  describe('command line', function () {
    this.timeout(60_000); // four CLI processes (under 20 s on an idle machine)
    const ROOT = fileURLToPath(new URL('..', import.meta.url));
    const racefarm = (...args: string[]): Promise<Ran> => runProcess(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'main.ts'), ...args], ROOT);
    let tmp = '';
    before(() => {
      tmp = mkdtempSync(join(os.tmpdir(), 'racefarm-pct-auto-'));
    });
    after(() => rmSync(tmp, { recursive: true, force: true }));

    // The first pct-auto stale-read of cow-two-pages × range-end-only is seed 397 at racefarm-sim 0.6.0 (the
    // 0.6.0 amd-v2 model: one PRI fault worker per device thread; below 200 at 0.5.0); 600 seeds take under a second.

    it('fuzz --strategy pct defaults to auto; its finding replays with repro, and trace of its seed at the recorded depth is trace under auto', async () => {
      const out = join(tmp, 'auto');
      const fz = await racefarm('fuzz', '--scenario', 'cow-two-pages', '--variant', 'range-end-only', '--strategy', 'pct', '--seeds', '600', '--workers', '1', '--json', '--out', out);
      assert.equal(fz.code, 0, fz.stderr);
      const summary = JSON.parse(fz.stdout) as { findings: { oracle: string; seed: number; file: string }[] };
      const hit = summary.findings.find((x) => x.oracle === 'stale-read');
      assert.ok(hit, fz.stdout);
      const saved = JSON.parse(readFileSync(hit.file, 'utf8')) as Finding;
      assert.deepEqual(saved.strategy, { name: 'pct', depth: pctDepth(PCT_AUTO_DEPTH, hit.seed), kSteps });
      const [repro, traceAuto, traceDepth, bad] = await Promise.all([
        racefarm('repro', hit.file, '--json'),
        racefarm('trace', '--scenario', 'cow-two-pages', '--variant', 'range-end-only', '--strategy', 'pct', '--seed', String(hit.seed), '--json'),
        racefarm('trace', '--scenario', 'cow-two-pages', '--variant', 'range-end-only', '--strategy', 'pct', '--depth', String(saved.strategy.depth), '--seed', String(hit.seed), '--json'),
        racefarm('fuzz', '--scenario', 'cow-two-pages', '--strategy', 'pct', '--depth', '0', '--seeds', '10', '--out', join(tmp, 'bad')),
      ]);
      assert.equal(repro.code, 0, repro.stdout + repro.stderr);
      assert.equal((JSON.parse(repro.stdout) as { reproduced: boolean }).reproduced, true);
      const ta = JSON.parse(traceAuto.stdout) as { decisions: number[]; violations: { oracle: string }[]; strategy: StrategySpec };
      const td = JSON.parse(traceDepth.stdout) as { decisions: number[]; violations: { oracle: string }[] };
      assert.deepEqual(ta.strategy, saved.strategy, 'trace names the depth the seed ran at');
      assert.deepEqual(ta.decisions, td.decisions);
      assert.ok(td.violations.some((v) => v.oracle === 'stale-read'));
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, /--depth must be "auto" or an integer in \[1, 64\], got "0"/);
    });
  });
});
