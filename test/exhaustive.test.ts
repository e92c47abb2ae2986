import assert from 'node:assert/strict';
import { CATALOG } from '../sim/scenario/catalog.ts';
import { compileScenario } from '../sim/scenario/compile.ts';
import { PRESETS } from '../sim/variants/presets.ts';
import { exhaustive } from '../sim/schedule/exhaustive.ts';
import { runOnce } from '../sim/run.ts';
import { ReplayChooser } from '../sim/schedule/replay.ts';

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
const CAP = 200_000;

describe('exhaustive search', function () {
  this.timeout(600_000);
  for (const entry of CATALOG) {
    const name = entry.scenario.name;
    const sc = compileScenario(entry.scenario);
    const bound = BOUND[name] ?? 2;
    describe(name, () => {
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
      ['smmu-upgrade-livelock', 'v4.15', 2],
      ['writeback-device-write', 'no-mkclean-invalidate', 2],
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
});
