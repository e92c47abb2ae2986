import assert from 'node:assert/strict';
import { compile, sitesOf } from './helpers.ts';
import { PlanChooser, keepWorld, type Segment } from './plan.ts';
import { runOnce } from '../../sim/run.ts';
import type { ScenarioInput } from '../../sim/scenario/schema.ts';

/**
 * KVM's get_user_pages (virt/kvm/kvm_main.c hva_to_pfn, mm/gup.c): hva_to_pfn_fast pins a present
 * writable PTE's page with __get_user_pages_fast(write=1) even on a read fault (map_writable), so
 * the spte is writable and the guest's stores set no PTE dirty bit; FOLL_WRITE GUP sets PG_dirty
 * (follow_page_pte: set_page_dirty), not the PTE's bit; a writable spte dirties its page when it is
 * zapped (mmu_spte_clear_track_bits → kvm_set_pfn_dirty). The previous model set the PTE dirty bit
 * on a write GUP, gave a read fault a read-only spte, and never dirtied a page on a zap.
 */
function scenario(k0: ScenarioInput['threads'][number]['ops'], vcpu: ScenarioInput['threads'][number]['ops']): ScenarioInput {
  return {
    name: 'kvm-gup',
    world: { iommu: 'none', kvm: true },
    pages: { A: { cells: [0, 0, 0, 0] } },
    threads: [
      { name: 'vcpu0', on: 'vcpu', ops: vcpu },
      { name: 'k0', on: 'kernel', ops: k0 },
      { name: 'cpu0', on: 'cpu', ops: [['read', 'A', 0]] },
    ],
  };
}

function run(input: ScenarioInput, variant: string, plan: Segment[]) {
  const kept = keepWorld();
  const sc = compile(input);
  const r = runOnce(sc, sitesOf(variant), new PlanChooser(plan), { trace: true, observer: kept.observer });
  return { r, w: kept.world(), labels: r.trace!.map((row) => `${sc.threads[row.thread].name}: ${row.label}`) };
}

describe('KVM GUP: writable sptes on read faults, PG_dirty instead of the PTE dirty bit', () => {
  it('a read fault on a writable PTE pins it with hva_to_pfn_fast and installs a writable spte; the next store takes no EPT violation', () => {
    const { r, w, labels } = run(scenario([], [['read', 'A', 0], ['write', 'A', 0, 3]]), 'v4.13', [{ thread: 'vcpu0' }, { thread: 'cpu0' }]);
    assert.deepEqual(r.violations, []);
    assert.ok(labels.includes('vcpu0: hva_to_pfn_fast: __get_user_pages_fast(write=1)'));
    assert.ok(!labels.some((l) => l.startsWith('vcpu0: get_user_pages')), 'no mmap_sem, no PT lock');
    assert.equal(labels.filter((l) => l.startsWith('vcpu0: vcpu store: EPT violation')).length, 0);
    assert.equal(w.kvm!.spte.write[0], 1);
  });

  // MADV_FREE leaves A writable but clean (pte_mkclean, ClearPageDirty, lazyfree) and zaps the spte;
  // the guest's store faults in a writable spte through hva_to_pfn_fast without dirtying anything.
  const LAZYFREE_THEN_STORE: ScenarioInput['threads'][number]['ops'] = [['write', 'A', 0, 7]];
  const PLAN: Segment[] = [{ thread: 'k0', until: 'madvise: up_read(mmap_sem)' }, { thread: 'vcpu0' }, { thread: 'k0' }, { thread: 'cpu0' }];

  for (const variant of ['v4.13', 'v4.15', 'v6.6']) {
    it(`${variant}: reclaim keeps the MADV_FREE page the guest wrote, because range_start zaps the writable spte first (kvm_set_pfn_dirty)`, () => {
      const { r, w, labels } = run(scenario([['madvise-free', 'A'], ['reclaim', 'A']], LAZYFREE_THEN_STORE), variant, PLAN);
      assert.ok(labels.some((l) => l.startsWith('vcpu0: hva_to_pfn_fast')), labels.join('\n'));
      assert.ok(labels.some((l) => l.includes('kvm_mmu_notifier_invalidate_range_start')));
      assert.deepEqual(
        r.violations.map((v) => `${v.oracle}: ${v.message}`),
        [],
      );
      assert.equal(w.pt.dirty[0], 0, 'the guest store through the spte set no PTE dirty bit');
    });
  }
});
