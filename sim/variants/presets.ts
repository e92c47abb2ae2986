import type { Sites } from './sites.ts';

export interface Variant {
  readonly name: string;
  readonly description: string;
  readonly sites: Sites;
}

/**
 * v4.13 — commit 369ea8242c0f ("mm/rmap: update to new mmu_notifier semantic v2") and its series
 * (a4d1a885251382 "dax: update to new mmu_notifier semantic", 
 * 0f10851ea475's parent state): range_start/end around every path, invalidate_range under the PT
 * lock wherever a PTE is cleared, and range_end calling invalidate_range again.
 */
const V4_13: Sites = {
  'cow.clearPte': 'clear-flush-notify', // wp_page_copy: ptep_clear_flush_notify() since 34ee645e83b6 (v4.0)
  'cow.rangeEnd': 'end', // mmu_notifier_invalidate_range_end() always calls ->invalidate_range (mm/mmu_notifier.c)
  'unmap.notify': 'under-ptl', // try_to_unmap_one: mmu_notifier_invalidate_range() before page_vma_mapped_walk unlocks
  'unmap.rangeBracket': 'true', // try_to_unmap_one: range_start before the walk, range_end after (369ea8242c0f)
  'zap.gatherInvalidate': 'before-free', // tlb_flush_mmu_tlbonly() calls mmu_notifier_invalidate_range()
  'clearRefs.invalidate': 'range-end', // clear_refs_write: range_start(0,-1) … range_end(0,-1)
  'mkclean.notify': 'under-ptl', // page_mkclean_one: invalidate_range under the PT lock (369ea8242c0f)
  'migrate.flush': 'before-copy', // try_to_unmap(TTU_MIGRATION) runs before move_to_new_page copies
  'migrate.restoreDirty': 'clean', // remove_migration_pte: pte_mkold(mk_pte()), pte_mksoft_dirty if the entry was, maybe_mkwrite: no pte_mkdirty (4.10–4.15)
  'ksm.writeProtect': 'notify-under-ptl', // write_protect_page: ptep_clear_flush_notify()
  'ksm.replace': 'notify-under-ptl', // replace_page: ptep_clear_flush_notify() + set_pte_at_notify()
  'ksm.flushPending': 'check', // write_protect_page 4.13.9: "… (pte_protnone && pte_savedwrite) || mm_tlb_flush_pending(mm))" ("mm: fix KSM data corruption")
  'mprotect.notify': 'range-end', // change_pmd_range: mmu_notifier_invalidate_range_start/end
  'mprotect.writeUpgrade': 'dirty-accountable', // change_pte_range: dirty_accountable && pte_dirty && (pte_soft_dirty || !VM_SOFTDIRTY) — the real soft-dirty bug (same in 4.10, 4.11, 4.15)
  'unmap.tlbBatch': 'deferred', // try_to_unmap_one: should_defer_flush() → ptep_get_and_clear + set_tlb_ubc_flush_pending (x86, every version here)
  'tlb.batchedPending': 'flush', // change_pte_range / zap_pte_range / madvise_free_pte_range: flush_tlb_batched_pending() (3ea277194daa; read in 4.13.9, 4.15.18, torvalds/linux)
  'tlb.nestedFlush': 'force', // tlb_finish_mmu: "bool force = mm_tlb_flush_nested(tlb->mm);" (99baac21e458; read in 4.13.9)
  'zap.flushRange': 'none', // zap_page_range 4.13.9: no flush_tlb_range before range_end
  'clearRefs.tlbFlush': 'tlb-gather', // clear_refs_write 4.13.9: tlb_gather_mmu(&tlb, mm, 0, -1) … tlb_finish_mmu(&tlb, 0, -1)
  'kvm.retryCheck': 'true', // tdp_page_fault / __direct_map: mmu_notifier_retry()
  'kvm.seqIncrement': 'locked', // kvm_mmu_notifier_invalidate_range_end: seq++ under mmu_lock
  'kvm.apicReload': 'none', // fb1522e099f0/369ea8242c0f removed kvm_mmu_notifier_invalidate_page; kvm_arch_mmu_notifier_invalidate_page is left uncalled
  'iommu.notifyOnUpgrade': 'false', // wp_page_reuse: ptep_set_access_flags(), no notifier in v4.x
  'iommu.setsDirty': 'hardware', // the IOMMU of world.iommu: amd-v2 and intel-svm set A/D in the walk, arm-smmu-v3 SVA does not (sim/model/iommu.ts)
  'intelSvm.deferredInvalidation': 'cmpxchg', // intel_flush_svm_range: cmpxchg64(&pasid_state_table[pasid], 0, 1ULL << 63) (907fea3491d5 v4.4 … 6d68b88e0993 v5.0; read in 4.10.1–4.15), only with world.ecapDis
};

/** v4.15 — commit 0f10851ea475 and the KVM fix b1394e745b94. */
const V4_15: Sites = {
  ...V4_13,
  'cow.rangeEnd': 'only-end', // wp_page_copy: mmu_notifier_invalidate_range_only_end()
  'unmap.notify': 'under-ptl-when-cleared',
  'mkclean.notify': 'range-end', // page_mkclean_one: "No need to call mmu_notifier_invalidate_range()"
  'ksm.writeProtect': 'range-end', // write_protect_page: ptep_clear_flush(), "No need to notify"
  'ksm.replace': 'range-end', // replace_page: ptep_clear_flush(), read-only → read-only same content
  'kvm.apicReload': 'range-start', // b1394e745b94 (v4.15-rc, "KVM: x86: fix APIC page invalidation"): kvm_arch_mmu_notifier_invalidate_range from range_start
  'zap.flushRange': 'before-range-end', // zap_page_range 4.15.18: flush_tlb_range(vma, start, end) in the vma loop, before range_end
};

/** v6.6 (mm/mmu_notifier.c, mm/mprotect.c, arch/arm64/mm/fault.c of v6.6). */
const V6_6: Sites = {
  ...V4_13,
  'cow.rangeEnd': 'only-end', // __mmu_notifier_invalidate_range_end() lost the ->invalidate_range call
  'iommu.notifyOnUpgrade': 'arm64', // arm64 __ptep_set_access_flags() → flush_tlb_page() → mmu_notifier_arch_invalidate_secondary_tlbs(); x86 ptep_set_access_flags() does not flush
  'migrate.restoreDirty': 'entry-dirty', // try_to_migrate_one: make_migration_entry_dirty; remove_migration_pte: pte_mkdirty (2e3468778dbe, v6.1)
  'mprotect.writeUpgrade': 'can-change-pte-writable', // change_pte_range → can_change_pte_writable() (64fe24a3e05e v5.19, fixed by 76aefad628aa v6.0)
  'kvm.apicReload': 'range-start-retry', // kvm_unmap_gfn_range requests the reload (0a8a5f2c8c26), vmx_set_apic_access_page_addr retries (878940b33d76), both v6.6-rc1
  'clearRefs.tlbFlush': 'write-lock', // clear_refs_write 6.6: mmap_write_lock_killable; … range_end; flush_tlb_mm (→ mmu_notifier_arch_invalidate_secondary_tlbs, arch/x86/mm/tlb.c flush_tlb_mm_range)
  'intelSvm.deferredInvalidation': 'none', // 6d68b88e0993 ("iommu/vt-d: Remove deferred invalidation", v5.0): the flush always happens
};

const PRESET_LIST: readonly Variant[] = [
  {
    name: 'v4.10',
    description:
      'legacy: try_to_unmap_one and page_mkclean_one call invalidate_page after pte_unmap_unlock, no range_start/end around them; COW already uses ptep_clear_flush_notify (34ee645e83b6, v3.19)',
    sites: {
      ...V4_13,
      'unmap.notify': 'after-unlock', // "out_unmap: pte_unmap_unlock(pte, ptl); ... mmu_notifier_invalidate_page(mm, address);"
      'unmap.rangeBracket': 'false',
      'mkclean.notify': 'after-unlock',
      'tlb.batchedPending': 'none', // 4.10.17 (read) has no flush_tlb_batched_pending; 3ea277194daa added it (present in 4.13.9)
      'tlb.nestedFlush': 'none', // 4.10.17 tlb_finish_mmu: tlb_flush_mmu(tlb) only; tlb_flush_pending is a bool of change_protection
      'clearRefs.tlbFlush': 'flush-tlb-mm', // clear_refs_write 4.10.17: "mmu_notifier_invalidate_range_end(mm, 0, -1); flush_tlb_mm(mm);"
      'ksm.flushPending': 'none', // write_protect_page: "if (pte_write(*pte) || pte_dirty(*pte) || (pte_protnone && pte_savedwrite))", no mm_tlb_flush_pending (the KSM data corruption fix came later)
      'kvm.apicReload': 'invalidate-page', // kvm_mmu_notifier_invalidate_page → kvm_arch_mmu_notifier_invalidate_page (x86.c)
    },
  },
  {
    name: 'v4.11',
    description:
      'c7ab0d2fdc84 (v4.11-rc1) converted try_to_unmap_one/page_mkclean_one to page_vma_mapped_walk and so moved invalidate_page inside the walk, under the PT lock; still no range_start/end',
    sites: {
      ...V4_13,
      'unmap.notify': 'page-under-ptl', // "discard: page_remove_rmap(); put_page(); mmu_notifier_invalidate_page(mm, address);" in the loop
      'unmap.rangeBracket': 'false',
      'mkclean.notify': 'page-under-ptl', // "if (ret) { mmu_notifier_invalidate_page(vma->vm_mm, address); (*cleaned)++; }" in the loop
      'tlb.batchedPending': 'none', // 4.11.0 (read) has no flush_tlb_batched_pending; 3ea277194daa added it (present in 4.13.9; 4.11.x stable not checked)
      'tlb.nestedFlush': 'none', // 4.11.0 tlb_finish_mmu has no mm_tlb_flush_nested (99baac21e458 came later)
      'clearRefs.tlbFlush': 'flush-tlb-mm', // clear_refs_write 4.11.0: flush_tlb_mm(mm)
      'ksm.flushPending': 'none', // write_protect_page: "if (pte_write(*pte) || pte_dirty(*pte) || (pte_protnone && pte_savedwrite))", no mm_tlb_flush_pending (the KSM data corruption fix came later)
      'kvm.apicReload': 'invalidate-page', // kvm_mmu_notifier_invalidate_page → kvm_arch_mmu_notifier_invalidate_page (x86.c)
    },
  },
  {
    name: 'v4.13',
    description: 'commit 369ea8242c0f: range_start/end everywhere, invalidate_range under the PT lock, again from range_end',
    sites: V4_13,
  },
  {
    name: 'v4.15',
    description:
      'commit 0f10851ea475: invalidate_range under the PT lock only where a page is freed before range_end or a PTE points to a new page; range_only_end elsewhere',
    sites: V4_15,
  },
  {
    name: 'v6.6',
    description:
      'invalidate_range renamed arch_invalidate_secondary_tlbs and called from the CPU TLB flush (so under the PT lock wherever ptep_clear_flush is); range_end no longer calls it; read-only → writable upgrades flush too (arm64)',
    sites: V6_6,
  },
  {
    name: 'range-end-only',
    description: 'hypothetical: secondary TLBs are never flushed under the PT lock, only from range_end',
    sites: {
      ...V4_13,
      'cow.clearPte': 'clear-flush',
      'unmap.notify': 'range-end',
      'zap.gatherInvalidate': 'range-end',
      'mkclean.notify': 'range-end',
      'ksm.writeProtect': 'range-end',
      'ksm.replace': 'range-end',
    },
  },
  {
    name: 'no-gather-invalidate',
    description: 'hypothetical: v4.13 but tlb_flush_mmu frees gathered pages without flushing secondary TLBs first',
    sites: { ...V4_13, 'zap.gatherInvalidate': 'range-end' },
  },
  {
    name: 'no-clear-refs-invalidate',
    description: 'hypothetical: v4.13 but clear_refs_write never flushes secondary TLBs after write-protecting',
    sites: { ...V4_13, 'clearRefs.invalidate': 'none' },
  },
  {
    name: 'no-mkclean-invalidate',
    description: 'hypothetical: page_mkclean_one write-protects and cleans the PTE but no secondary TLB is ever told',
    sites: { ...V4_13, 'mkclean.notify': 'none' },
  },
  {
    name: 'no-mprotect-invalidate',
    description: 'hypothetical: change_protection write-protects without flushing secondary TLBs',
    sites: { ...V4_13, 'mprotect.notify': 'none' },
  },
  {
    name: 'migrate-flush-after-copy',
    description: 'hypothetical: migration flushes secondary TLBs only after copying the page',
    sites: { ...V4_13, 'migrate.flush': 'after-copy' },
  },
  {
    name: 'ksm-flush-after-compare',
    description: 'hypothetical: write_protect_page flushes secondary TLBs only after pages_identical compared the pages',
    sites: { ...V4_13, 'ksm.writeProtect': 'after-compare' },
  },
  {
    name: 'intel-svm-deferred',
    description:
      'hypothetical: v4.15 on VT-d with ECAP.DIS (world.ecapDis) whose intel_flush_svm_range defers the flush whenever DINV is clear, even while a device has the PASID active (the real cmpxchg64 compares the whole PASID-state entry, active reference count included, with 0), and whose wp_page_copy clears the PTE with plain ptep_clear_flush as range-end-only does, so that COW, like page_mkclean, notifies intel-svm once',
    sites: { ...V4_15, 'cow.clearPte': 'clear-flush', 'intelSvm.deferredInvalidation': 'ignore-active' },
  },
  {
    name: 'mprotect-softdirty-v5.19',
    description:
      'v6.6 with can_change_pte_writable() as 64fe24a3e05e merged it in v5.19: the inverted soft-dirty test upgrades an exclusive anonymous page after clear_refs (fixed by 76aefad628aa, v6.0)',
    sites: { ...V6_6, 'mprotect.writeUpgrade': 'exclusive-anon-inverted' },
  },
  {
    name: 'kvm-apic-invalidate-range',
    description:
      'v4.15 with e649b3f0188f (v5.8, "KVM: x86: Fix APIC page invalidation race"): the APIC-access page reload is requested from ->invalidate_range, after the PTE changed, instead of from range_start',
    sites: { ...V4_15, 'kvm.apicReload': 'invalidate-range' },
  },
  {
    name: 'kvm-no-retry',
    description: 'hypothetical: v4.13 but the KVM fault path installs the spte without mmu_notifier_retry()',
    sites: { ...V4_13, 'kvm.retryCheck': 'false' },
  },
  {
    name: 'kvm-seq-after-unlock',
    description: 'hypothetical: v4.13 but range_end bumps mmu_notifier_seq after dropping mmu_lock (count already 0)',
    sites: { ...V4_13, 'kvm.seqIncrement': 'after-unlock' },
  },
];

export const PRESETS: ReadonlyMap<string, Variant> = new Map(PRESET_LIST.map((v) => [v.name, v]));

export function presetNames(): string[] {
  return PRESET_LIST.map((v) => v.name);
}
