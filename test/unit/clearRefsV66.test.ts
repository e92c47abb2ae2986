import assert from 'node:assert/strict';
import { compile, labelsOf, sitesOf } from './helpers.ts';
import { PlanChooser } from './plan.ts';
import { runOnce, type StepObserver } from '../../sim/run.ts';
import type { ScenarioInput } from '../../sim/scenario/schema.ts';
import type { Sites } from '../../sim/variants/sites.ts';

/**
 * ★ clearRefs.tlbFlush `write-lock` (preset v6.6), clear_refs_write() of 6.6.0 / 6.6.63
 * (fs/proc/task_mmu.c, docs/kernel-notes.md): mmap_write_lock_killable() for the whole operation,
 * and the IOMMU flush comes from flush_tlb_mm() → mmu_notifier_arch_invalidate_secondary_tlbs()
 * after range_end, not from range_end. Until racefarm-sim 0.6.2 the v6.6 preset ran v4.13's form
 * (down_read; range_end's ->invalidate_range flushed the IOMMU): `OLD_V6_6` below, on which both
 * tests fail.
 */
const OLD_V6_6: Sites = { ...sitesOf('v6.6'), 'clearRefs.tlbFlush': 'tlb-gather' };

const scenario: ScenarioInput = {
  name: 'clear-refs-v6.6',
  world: { iommu: 'amd-v2' },
  pages: { A: { cells: [0, 0, 0, 0] }, B: { cells: [0, 0, 0, 0], swapped: true } },
  devices: [{ name: 'dev0', ats: true }],
  threads: [
    { name: 'dev0', on: 'device:dev0', ops: [['read', 'A', 0]] },
    { name: 'k0', on: 'kernel', ops: [['clear-refs']] },
    { name: 'cpu0', on: 'cpu', ops: [['read', 'B', 0]] },
  ],
};

/** After each step: k0's label, and whether dev0's IOTLB/ATC still holds A. */
function watch(): { observer: StepObserver; seen: { label: string; atcHoldsA: boolean }[] } {
  const seen: { label: string; atcHoldsA: boolean }[] = [];
  return {
    seen,
    observer: {
      init: () => {},
      step: (w, t) => {
        if (t.name === 'k0') seen.push({ label: t.label, atcHoldsA: w.iommu!.iotlb.valid[0] === 1 });
      },
    },
  };
}

function run(sites: Sites, plan: ConstructorParameters<typeof PlanChooser>[0]) {
  const wt = watch();
  const r = runOnce(compile(scenario), sites, new PlanChooser(plan), { trace: true, observer: wt.observer });
  return { r, seen: wt.seen };
}

describe('clear_refs_write in v6.6 (clearRefs.tlbFlush write-lock)', () => {
  it('holds mmap_lock for write from start to end: a page fault waits for the whole operation', () => {
    // dev0 caches A; k0 runs to its first PT lock of the walk; cpu0 then faults on B (do_swap_page
    // under mmap_read_lock) — it must wait for mmap_write_unlock.
    const plan = [{ thread: 'dev0' }, { thread: 'k0', until: 'clear_refs_pte_range' }, { thread: 'cpu0' }, { thread: 'k0' }];
    const trace = (sites: Sites) => {
      const { r } = run(sites, plan);
      const rows = r.trace!;
      const k0 = r.threadNames.indexOf('k0');
      const cpu0 = r.threadNames.indexOf('cpu0');
      const unlock = rows.findIndex((x) => x.thread === k0 && /^clear_refs_write: (up_read\(mmap_sem\)|mmap_write_unlock)$/.test(x.label));
      const swapIn = rows.findIndex((x) => x.thread === cpu0 && x.label.startsWith('do_swap_page'));
      assert.ok(unlock >= 0 && swapIn >= 0, JSON.stringify(labelsOf(r, 'cpu0')));
      return { unlock, swapIn };
    };
    const now = trace(sitesOf('v6.6'));
    assert.ok(now.swapIn > now.unlock, `v6.6: the fault ran at row ${now.swapIn}, before the unlock at ${now.unlock}`);
    const old = trace(OLD_V6_6);
    assert.ok(old.swapIn < old.unlock, 'the old form (down_read) lets the fault run during the walk');
  });

  it('flushes the IOMMU in flush_tlb_mm after range_end, not in range_end', () => {
    const plan = [{ thread: 'dev0' }, { thread: 'k0' }];
    const { r, seen } = run(sitesOf('v6.6'), plan);
    assert.deepEqual(r.violations, []);
    const end = seen.find((x) => x.label === 'mmu_notifier_invalidate_range_only_end');
    const flush = seen.find((x) => x.label === 'clear_refs_write: flush_tlb_mm → mmu_notifier_arch_invalidate_secondary_tlbs');
    assert.ok(end && flush, JSON.stringify(seen.map((x) => x.label)));
    // Between the two the stale entry is the kernel's tolerated transient (the flush is pending, as
    // the CPU's is): no split-mapping (assert above).
    assert.equal(end.atcHoldsA, true, 'range_end left the device TLB alone');
    assert.equal(flush.atcHoldsA, false, 'flush_tlb_mm flushed it');
    const old = run(OLD_V6_6, plan).seen.find((x) => x.label === 'mmu_notifier_invalidate_range_end');
    assert.equal(old?.atcHoldsA, false, 'the old form flushed the IOMMU from range_end');
  });
});
