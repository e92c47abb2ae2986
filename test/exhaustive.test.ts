import assert from 'node:assert/strict';
import { CATALOG } from '../sim/scenario/catalog.ts';
import { compileScenario } from '../sim/scenario/compile.ts';
import { PRESETS } from '../sim/variants/presets.ts';
import { exhaustive } from '../sim/schedule/exhaustive.ts';
import { runOnce } from '../sim/run.ts';
import { ReplayChooser } from '../sim/schedule/replay.ts';
import { exhaustivePrefixes } from '../sim/schedule/exhaustive/prefixes.ts';
import { execFileSync } from 'node:child_process';
import { generateProgram } from '../sim/generate/generation.ts';
import { validateProgram } from '../sim/generate/validation.ts';
import type { CompiledScenario } from '../sim/scenario/compiled.ts';
import type { Sites } from '../sim/variants/sites.ts';

/**
 * The exhaustive strategy: a certificate "no violation within K preemptions" for the correct
 * presets, the race for the buggy ones, and the partial-order reduction checked against plain DFS.
 *
 * cow-two-pages (six scenario threads and the fault worker) is certified at bound 1 here; at
 * bound 2 it takes 1,065,201 schedules with the reduction (about 14 minutes on this machine, no
 * finding under v4.13) and plain DFS had not finished after 3,000,000, so that run lives in the
 * issue note and `npm run bench`, not in the test suite.
 */
const BOUND: Record<string, number> = { 'cow-two-pages': 1 };
/**
 * ksm-stale-tlb (five threads, ~40 steps): its race needs four preemptions (test/scenarios.test.ts:
 * pct depth 5), and the correct presets' certificate at bound 2 takes the stateful search 161,087
 * executions and 5.6M states (192 s and 2.7 GB under v4.13, 221 s under v4.15, racefarm-sim 0.6.4):
 * that certificate lives in the bench (`node --import tsx bench/exhaustive.ts stateful 5000000
 * ksm-stale-tlb`), the race in test/scenarios.test.ts and test/unit/ksm.test.ts (a recorded schedule).
 */
const SKIP: Record<string, string> = { 'ksm-stale-tlb': 'a 4-preemption race; certificate too slow for CI' };
const CAP = 200_000;

describe('exhaustive search', function () {
  this.timeout(600_000);
  for (const entry of CATALOG) {
    const name = entry.scenario.name;
    const sc = compileScenario(entry.scenario);
    const bound = BOUND[name] ?? 2;
    describe(name, () => {
      if (SKIP[name] !== undefined) {
        it.skip(`skipped: ${SKIP[name]}`, () => {});
        return;
      }
      for (const presetName of entry.correct) {
        it(`${presetName}: complete within bound ${bound}, no finding`, () => {
          const r = exhaustive(sc, PRESETS.get(presetName)!.sites, { bound, reduction: true, stopAtFirst: true, maxSchedules: CAP });
          assert.equal(r.finding, null, r.finding ? JSON.stringify(r.finding.violations.map((v) => v.message)) : '');
          assert.equal(r.complete, true, `incomplete after ${r.schedules} schedules`);
          assert.ok(r.schedules > 0);
        });
      }
      it(`${entry.buggyVariant}: finds ${entry.expect.join(' or ')} within bound 2, and its decisions replay it`, () => {
        const sites = PRESETS.get(entry.buggyVariant)!.sites;
        const r = exhaustive(sc, sites, { bound: 2, reduction: true, stopAtFirst: true, maxSchedules: CAP, target: entry.expect });
        assert.ok(r.finding, `no ${entry.expect.join('/')} within bound 2 (${r.schedules} schedules)`);
        const oracles = r.finding.violations.map((v) => v.oracle);
        assert.ok(oracles.some((o) => entry.expect.includes(o)), `found ${oracles.join(', ')}`);
        const again = runOnce(sc, sites, new ReplayChooser(r.finding.decisions));
        assert.deepEqual(
          again.violations.map((v) => v.oracle),
          oracles,
        );
      });
    });
  }

  describe('the partial-order reduction against plain DFS (same reachable verdicts, fewer schedules)', () => {
    // Small scenarios, explored to the end (stopAtFirst off) under buggy and correct presets, so
    // that the verdict sets contain races as well as clean runs.
    const cases: [string, string, number][] = [
      ['soft-dirty-device-write', 'no-clear-refs-invalidate', 2],
      ['soft-dirty-device-write', 'v4.13', 2],
      ['mprotect-device-write', 'no-mprotect-invalidate', 2],
      ['migrate-device-write', 'migrate-flush-after-copy', 2],
      ['migrate-device-write', 'v4.15', 2],
      // (smmu-upgrade-livelock left at 0.6.3: one device thread and its fault worker, a single schedule)
      ['writeback-device-write', 'no-mkclean-invalidate', 2],
      ['writeback-device-write', 'v4.13', 2],
      ['ksm-device-write', 'ksm-flush-after-compare', 2],
      ['intel-svm-cow', 'intel-svm-deferred', 1],
      ['zap-gather-free', 'no-gather-invalidate', 1],
      ['kvm-stale-spte', 'kvm-no-retry', 1],
      ['unmap-window-madv-free', 'v4.10', 1],
      // the deferred CPU TLB flush state (TranslationCache.deferred, mm->tlb_flush_batched) in the footprints
      ['reclaim-zap-stale-tlb', 'v4.10', 2],
      ['reclaim-zap-stale-tlb', 'v4.13', 2],
      ['reclaim-mprotect-stale-tlb', 'v4.10', 2],
    ];
    for (const [name, preset, bound] of cases) {
      it(`${name} under ${preset}, bound ${bound}`, () => {
        const sc = compileScenario(CATALOG.find((e) => e.scenario.name === name)!.scenario);
        const sites = PRESETS.get(preset)!.sites;
        const opts = { bound, stopAtFirst: false, maxSchedules: CAP };
        const por = exhaustive(sc, sites, { ...opts, reduction: true });
        const dfs = exhaustive(sc, sites, { ...opts, reduction: false });
        assert.ok(por.complete && dfs.complete);
        assert.deepEqual(por.verdicts, dfs.verdicts);
        assert.ok(por.schedules < dfs.schedules, `POR ${por.schedules} vs DFS ${dfs.schedules}`);
      });
    }
  });

  describe('decision prefixes (the farm splits a search by them)', () => {
    for (const [name, preset, bound, depth] of [
      ['soft-dirty-device-write', 'no-clear-refs-invalidate', 2, 6],
      ['zap-gather-free', 'no-gather-invalidate', 1, 4],
    ] as const) {
      it(`${name} under ${preset}, bound ${bound}: the subtrees of the depth-${depth} prefixes partition plain DFS`, () => {
        const sc = compileScenario(CATALOG.find((e) => e.scenario.name === name)!.scenario);
        const sites = PRESETS.get(preset)!.sites;
        const opts = { bound, reduction: false, stopAtFirst: false, maxSchedules: CAP };
        const whole = exhaustive(sc, sites, opts);
        const prefixes = exhaustivePrefixes(sc, sites, { bound, depth });
        assert.ok(prefixes.length > 1);
        let schedules = 0;
        const verdicts = new Set<string>();
        for (const p of prefixes) {
          const r = exhaustive(sc, sites, { ...opts, prefix: p.decisions });
          assert.ok(r.complete);
          schedules += r.schedules;
          for (const v of r.verdicts) verdicts.add(v);
        }
        assert.equal(schedules, whole.schedules);
        assert.deepEqual([...verdicts].sort(), whole.verdicts);
      });
    }
  });

  describe('the stateful search against plain DFS (same verdict sets)', () => {
    // Explored to the end under buggy and correct presets, so that the verdict sets hold races as
    // well as clean runs; each pair takes a few seconds.
    const cases: [string, string, number][] = [
      ['soft-dirty-device-write', 'no-clear-refs-invalidate', 2],
      ['soft-dirty-device-write', 'v4.13', 2],
      ['migrate-device-write', 'migrate-flush-after-copy', 2],
      ['migrate-device-write', 'v4.15', 2],
      ['kvm-stale-spte', 'kvm-no-retry', 1],
      ['intel-svm-cow', 'intel-svm-deferred', 1],
      ['reclaim-mprotect-stale-tlb', 'v4.10', 2],
    ];
    for (const [name, preset, bound] of cases) {
      it(`${name} under ${preset}, bound ${bound}`, () => {
        const sc = compileScenario(CATALOG.find((e) => e.scenario.name === name)!.scenario);
        const sites = PRESETS.get(preset)!.sites;
        const opts = { bound, reduction: false, stopAtFirst: false, maxSchedules: CAP };
        const dfs = exhaustive(sc, sites, opts);
        const sf = exhaustive(sc, sites, { ...opts, stateful: true });
        assert.ok(dfs.complete && sf.complete);
        assert.deepEqual(sf.verdicts, dfs.verdicts);
        assert.ok(sf.states > 0);
        assert.ok(sf.pruned > 0, 'the stateful search cut no execution');
        assert.ok(sf.schedules < dfs.schedules, `stateful ${sf.schedules} vs DFS ${dfs.schedules}`);
      });
    }

    // The stateful search replays a path's steps on the raw typed arrays and records only the new
    // step's reads through the views (observe.ts enter): sound only if no step keeps a typed array
    // across a yield. Checked here against replaying through the views, on the catalog and on
    // generated programs (code paths no hand-written scenario reaches): same search, number for number.
    it('replaying on the raw arrays gives the same search as replaying through the recording views (catalog + 16 generated programs, bound 1)', () => {
      const pairs: [CompiledScenario, Sites, string][] = [];
      for (const e of CATALOG) {
        const sc = compileScenario(e.scenario);
        for (const v of [e.correct[0], e.buggyVariant]) pairs.push([sc, PRESETS.get(v)!.sites, `${e.scenario.name} × ${v}`]);
      }
      for (const v of ['v4.13', 'v6.6']) {
        const variant = PRESETS.get(v)!;
        for (let seed = 0; seed < 8; seed++) pairs.push([validateProgram(generateProgram(seed, { variant }), variant), variant.sites, `program ${seed} × ${v}`]);
      }
      let pruned = 0;
      for (const [sc, sites, what] of pairs) {
        const opts = { bound: 1, reduction: false, stateful: true, stopAtFirst: false, maxSchedules: 800 };
        const raw = exhaustive(sc, sites, opts);
        const views = exhaustive(sc, sites, { ...opts, replayViews: true });
        assert.deepEqual(raw, views, what);
        pruned += raw.pruned;
      }
      assert.ok(pruned > 0, 'no state was ever pruned: the check compared nothing stateful');
    });

    it('its first race replays from the decisions it reports', () => {
      const entry = CATALOG.find((e) => e.scenario.name === 'soft-dirty-device-write')!;
      const sc = compileScenario(entry.scenario);
      const sites = PRESETS.get(entry.buggyVariant)!.sites;
      const r = exhaustive(sc, sites, { bound: 2, reduction: false, stateful: true, stopAtFirst: true, maxSchedules: CAP, target: entry.expect });
      assert.ok(r.finding);
      const again = runOnce(sc, sites, new ReplayChooser(r.finding.decisions));
      assert.deepEqual(again.violations.map((v) => v.oracle), r.finding.violations.map((v) => v.oracle));
    });
  });

  describe('unbounded certificates, all verdicts, partial results', () => {
    it('migrate-device-write under v4.15: complete over every interleaving (unbounded), no race, with its state count', () => {
      const sc = compileScenario(CATALOG.find((e) => e.scenario.name === 'migrate-device-write')!.scenario);
      const sites = PRESETS.get('v4.15')!.sites;
      const r = exhaustive(sc, sites, { bound: Infinity, reduction: false, stateful: true, stopAtFirst: true, maxSchedules: CAP });
      assert.equal(r.complete, true);
      assert.equal(r.finding, null);
      assert.equal(r.bound, Infinity);
      assert.ok(r.states > 0);
      // Every bounded search is contained in the unbounded one: K=2 reaches no verdict it lacks.
      const k2 = exhaustive(sc, sites, { bound: 2, reduction: false, stopAtFirst: false, maxSchedules: CAP });
      for (const v of k2.verdicts) assert.ok(r.verdicts.includes(v), v);
    });

    it('all verdicts: soft-dirty-device-write under no-clear-refs-invalidate lists every verdict plain DFS reaches, the first race stays the finding', () => {
      const sc = compileScenario(CATALOG.find((e) => e.scenario.name === 'soft-dirty-device-write')!.scenario);
      const sites = PRESETS.get('no-clear-refs-invalidate')!.sites;
      const dfs = exhaustive(sc, sites, { bound: 2, reduction: false, stopAtFirst: false, maxSchedules: CAP });
      const first = exhaustive(sc, sites, { bound: 2, reduction: false, stateful: true, stopAtFirst: true, maxSchedules: CAP });
      const all = exhaustive(sc, sites, { bound: 2, reduction: false, stateful: true, stopAtFirst: false, maxSchedules: CAP });
      assert.ok(dfs.verdicts.length > 1);
      assert.deepEqual(all.examples.map((e) => e.verdict).sort(), dfs.verdicts);
      assert.ok(first.finding && all.finding);
      assert.deepEqual(all.finding.decisions, first.finding.decisions);
      for (const e of all.examples) {
        const again = runOnce(sc, sites, new ReplayChooser(e.decisions));
        assert.equal([...new Set(again.violations.map((v) => v.oracle))].sort().join(','), e.verdict);
      }
    });

    it('a stop request ends the search with complete: false and the counts so far', () => {
      const sc = compileScenario(CATALOG.find((e) => e.scenario.name === 'cow-two-pages')!.scenario);
      const sites = PRESETS.get('v4.15')!.sites;
      for (const stateful of [true, false]) {
        let asked = 0;
        const r = exhaustive(sc, sites, { bound: 2, reduction: true, stateful, stopAtFirst: true, maxSchedules: CAP, control: { every: 16, shouldStop: () => ++asked === 3 } });
        assert.equal(r.complete, false);
        assert.equal(r.stopped, 'aborted');
        assert.equal(r.schedules + r.pruned, 48);
        assert.ok(r.frontier > 0);
      }
    });

    it('racefarm fuzz --strategy exhaustive --max-seconds 1 --json prints the partial result', () => {
      const out = execFileSync(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'fuzz', '--scenario', 'cow-two-pages', '--variant', 'v4.15', '--strategy', 'exhaustive', '--stateful', '--max-seconds', '1', '--json'], { encoding: 'utf8' });
      const j = JSON.parse(out) as { complete: boolean; stopped: string; explored: number; pruned: number; frontier: number; states: number; certificate: unknown };
      assert.equal(j.complete, false);
      assert.equal(j.stopped, 'max-seconds');
      assert.equal(j.certificate, null);
      assert.ok(j.explored + j.pruned > 0 && j.frontier > 0 && j.states > 0);
    });
  });
});
