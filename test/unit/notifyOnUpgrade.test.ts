import assert from 'node:assert/strict';
import { compile, sitesOf } from './helpers.ts';
import { PlanChooser, keepWorld } from './plan.ts';
import { runOnce } from '../../sim/run.ts';
import type { ScenarioInput } from '../../sim/scenario/schema.ts';

/**
 * ★ iommu.notifyOnUpgrade in v6.6 (choice arm64): an in-place read-only → writable upgrade
 * (do_wp_page → wp_page_reuse → ptep_set_access_flags) reaches the secondary TLBs only on arm64,
 * where __ptep_set_access_flags() calls flush_tlb_page() → mmu_notifier_arch_invalidate_secondary_tlbs();
 * x86's ptep_set_access_flags() just set_pte()s. The previous model flushed every IOMMU in v6.6.
 */
function scenario(iommu: 'amd-v2' | 'intel-svm' | 'arm-smmu-v3'): ScenarioInput {
  return {
    name: 'upgrade',
    world: { iommu },
    pages: { A: { cells: [0, 0, 0, 0], swapped: true } },
    devices: [{ name: 'dev0', ats: true }],
    threads: [
      { name: 'dev0', on: 'device:dev0', ops: [['read', 'A', 0]] },
      { name: 'cpu0', on: 'cpu', ops: [['write', 'A', 0, 1]] },
    ],
  };
}

/**
 * A is swapped out; the device's read faults it in read-only (do_swap_page on a read fault) and
 * caches the read-only translation; the CPU's write fault upgrades A in place (do_wp_page reuses
 * the exclusive page). Not clear_refs: an arm64 kernel has no soft-dirty (compile.ts).
 */
function run(iommu: 'amd-v2' | 'intel-svm' | 'arm-smmu-v3') {
  const kept = keepWorld();
  const plan = new PlanChooser([{ thread: 'dev0' }, { thread: 'iommu-fault' }, { thread: 'dev0' }, { thread: 'cpu0' }]);
  const r = runOnce(compile(scenario(iommu)), sitesOf('v6.6'), plan, { trace: true, observer: kept.observer });
  const upgrade = r.trace!.find((row) => row.label === 'wp_page_reuse: ptep_set_access_flags');
  assert.ok(upgrade, `${iommu}: no wp_page_reuse step`);
  return { r, w: kept.world() };
}

describe('iommu.notifyOnUpgrade (v6.6: arm64 only)', () => {
  for (const iommu of ['amd-v2', 'intel-svm'] as const) {
    it(`${iommu} (x86): the upgrade leaves the IOMMU's read-only entry alone`, () => {
      const { r, w } = run(iommu);
      assert.deepEqual(r.violations, []);
      assert.equal(w.pt.write[0], 1, 'the PTE was upgraded');
      assert.equal(w.iommu!.iotlb.valid[0], 1, 'no secondary flush on x86');
      assert.equal(w.iommu!.iotlb.write[0], 0);
    });
  }
  it('arm-smmu-v3 (arm64): the upgrade flushes the SMMU (flush_tlb_page → arch_invalidate_secondary_tlbs)', () => {
    const { r, w } = run('arm-smmu-v3');
    assert.deepEqual(r.violations, []);
    assert.equal(w.pt.write[0], 1);
    assert.equal(w.iommu!.iotlb.valid[0], 0);
  });
});
