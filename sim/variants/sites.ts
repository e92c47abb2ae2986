/**
 * The notifier call sites whose placement a variant decides (docs/variants.md). The first choice of each
 * site is the correct behaviour; v4.13 takes it except where v4.13 really had the bug
 * (test/unit/variants.test.ts V4_13_BUGS). Each entry says which kernel code it stands for, so `racefarm
 * variants --sites` and the validation messages can explain themselves.
 */
export const SITES = {
  'cow.clearPte': {
    choices: ['clear-flush-notify', 'clear-flush'],
    doc: 'wp_page_copy (mm/memory.c): ptep_clear_flush_notify() calls invalidate_range under the PT lock before set_pte_at_notify() installs the new page; plain ptep_clear_flush() does not',
  },
  'cow.rangeEnd': {
    choices: ['end', 'only-end'],
    doc: 'wp_page_copy: mmu_notifier_invalidate_range_end() calls invalidate_range again (v4.13); _only_end() skips it (v4.15, commit 0f10851ea475)',
  },
  'unmap.notify': {
    choices: ['under-ptl', 'under-ptl-when-cleared', 'page-under-ptl', 'after-unlock', 'range-end'],
    doc: 'try_to_unmap_one (mm/rmap.c): invalidate_range under the PT lock at "discard:" (v4.13, 369ea8242c0f) · only in the anonymous branches v4.15 kept (0f10851ea475) · invalidate_page inside the page_vma_mapped_walk loop, PT lock held (v4.11–v4.12, c7ab0d2fdc84) · invalidate_page after pte_unmap_unlock (≤ v4.10) · only from range_end',
  },
  'unmap.rangeBracket': {
    choices: ['true', 'false'],
    doc: 'try_to_unmap_one: mmu_notifier_invalidate_range_start/end around the walk (added in v4.13 by commit 369ea8242c0f)',
  },
  'zap.gatherInvalidate': {
    choices: ['before-free', 'range-end'],
    doc: 'tlb_flush_mmu_tlbonly (mm/memory.c) calls mmu_notifier_invalidate_range before tlb_flush_mmu_free frees the gathered pages, or only range_end flushes secondary TLBs',
  },
  'clearRefs.invalidate': {
    choices: ['range-end', 'none'],
    doc: 'clear_refs_write (fs/proc/task_mmu.c) relies on mmu_notifier_invalidate_range_end() calling invalidate_range (with clearRefs.tlbFlush write-lock, v6.6: on the flush_tlb_mm() after it), or no secondary flush happens at all',
  },
  'mkclean.notify': {
    choices: ['under-ptl', 'page-under-ptl', 'after-unlock', 'range-end', 'none'],
    doc: 'page_mkclean_one (mm/rmap.c): invalidate_range under the PT lock (v4.13) · invalidate_page inside the walk, PT lock held (v4.11–v4.12) · invalidate_page after unlock (≤ v4.10) · only from range_end (v4.15) · never',
  },
  'migrate.flush': {
    choices: ['before-copy', 'after-copy'],
    doc: 'migrate_pages: secondary TLBs are flushed when try_to_unmap installs the migration entry, before the page is copied, or only after the copy',
  },
  'migrate.restoreDirty': {
    choices: ['clean', 'entry-dirty'],
    doc: 'remove_migration_pte (mm/migrate.c): mk_pte + pte_mkold + maybe_mkwrite maps the new page clean, its soft-dirty only from the entry (v4.10–v4.15) · the migration entry remembers the PTE dirty bit (2e3468778dbe, v6.1) and folio_test_dirty && is_migration_entry_dirty → pte_mkdirty, which on x86 also sets soft-dirty',
  },
  'ksm.writeProtect': {
    choices: ['notify-under-ptl', 'range-end', 'after-compare'],
    doc: 'write_protect_page (mm/ksm.c): ptep_clear_flush_notify under the PT lock · flush from its range_end (v4.15) · flush only after pages_identical compared the contents',
  },
  'ksm.flushPending': {
    choices: ['check', 'none'],
    doc: 'write_protect_page (mm/ksm.c): `if (pte_write || pte_dirty || … || mm_tlb_flush_pending(mm))` — with an mmu_gather of the mm in flight (MADV_FREE, clear_refs under tlb_gather_mmu) even a read-only clean PTE is cleared and flushed, so a stale writable CPU TLB entry cannot write the page after pages_identical ("mm: fix KSM data corruption", Minchan Kim 2017; in 4.13.9, 4.15.18, v6.6) · no such test: a read-only clean PTE is taken as is (4.10.17, 4.11.0)',
  },
  'ksm.replace': {
    choices: ['notify-under-ptl', 'range-end'],
    doc: 'replace_page (mm/ksm.c): ptep_clear_flush_notify before set_pte_at_notify, or only range_end',
  },
  'mprotect.notify': {
    choices: ['range-end', 'none'],
    doc: 'change_protection (mm/mprotect.c): range_end flushes secondary TLBs, or nothing does',
  },
  'mprotect.writeUpgrade': {
    choices: ['can-change-pte-writable', 'dirty-accountable', 'exclusive-anon-inverted'],
    doc: 'change_pte_range (mm/mprotect.c) on mprotect(PROT_WRITE): can_change_pte_writable() upgrades a dirty shared-file PTE or an exclusive anonymous page unless soft-dirty tracking needs the fault (v6.6: 64fe24a3e05e + the 76aefad628aa fix) · only a dirty shared-file PTE, with the inverted test pte_soft_dirty || !(vm_flags & VM_SOFTDIRTY) that loses soft-dirty after clear_refs (v4.x) · can_change_pte_writable() as 64fe24a3e05e merged it (v5.19): dirty PTEs of exclusive anonymous or shared-file pages, same inverted soft-dirty test',
  },
  // ---- deferred CPU TLB flushes (sim/kernel/tlbBatch.ts) ----
  'unmap.tlbBatch': {
    choices: ['deferred', 'flush'],
    doc: 'try_to_unmap_one (mm/rmap.c) under TTU_BATCH_FLUSH: should_defer_flush() → ptep_get_and_clear() + set_tlb_ubc_flush_pending(), the CPU TLB flushed later by try_to_unmap_flush[_dirty]() in shrink_page_list (x86 CONFIG_ARCH_WANT_BATCHED_UNMAP_TLB_FLUSH, 72b252aed506, v4.3) · ptep_clear_flush() at once (an architecture without batching)',
  },
  'tlb.batchedPending': {
    choices: ['flush', 'none'],
    doc: 'flush_tlb_batched_pending() (mm/rmap.c) under the PT lock in change_pte_range, zap_pte_range and madvise_free_pte_range flushes a TLB flush reclaim deferred (3ea277194daa, in 4.13 and 4.15) · no such call: a stale CPU TLB entry survives mprotect/munmap/MADV_DONTNEED of a PTE reclaim already cleared (4.10.17, 4.11.0)',
  },
  'tlb.nestedFlush': {
    choices: ['force', 'none'],
    doc: 'tlb_finish_mmu (mm/memory.c): with another mmu_gather of the mm in flight (mm_tlb_flush_nested), flush the whole range even if this one cleared no present PTE (99baac21e458, in 4.13.9, 4.15.18, v6.6 as fullmm) · flush only what this gather cleared (4.10.17, 4.11.0)',
  },
  'zap.flushRange': {
    choices: ['none', 'before-range-end'],
    doc: 'zap_page_range (mm/memory.c): the CPU TLB flush comes from tlb_finish_mmu after range_end (4.10.17, 4.13.9, v6.6) · v4.15 also calls flush_tlb_range(vma, start, end) before range_end ("mm: always flush VMA ranges affected by zap_page_range", reverted by 50c150f26261 in v4.19)',
  },
  'clearRefs.tlbFlush': {
    choices: ['tlb-gather', 'flush-tlb-mm', 'write-lock'],
    doc: 'clear_refs_write (fs/proc/task_mmu.c): tlb_gather_mmu(&tlb, mm, 0, -1) … tlb_finish_mmu(), so mm_tlb_flush_pending() sees the write-protect pass ("mm: fix KSM data corruption", 2017; 4.13.9, 4.15.18) · a bare flush_tlb_mm() at the end (4.10.17, 4.11.0) · v6.6: mmap_write_lock for the whole operation, inc_tlb_flush_pending, range_start … range_end (no secondary flush), then flush_tlb_mm(), whose mmu_notifier_arch_invalidate_secondary_tlbs() flushes the IOMMUs after the CPU (clearRefs.invalidate none: it does not)',
  },
  'kvm.retryCheck': {
    choices: ['true', 'false'],
    doc: 'mmu_notifier_retry() in the KVM fault path (virt/kvm, arch/x86/kvm/mmu.c)',
  },
  'kvm.seqIncrement': {
    choices: ['locked', 'after-unlock'],
    doc: 'kvm_mmu_notifier_invalidate_range_end bumps mmu_notifier_seq under mmu_lock, or after releasing it',
  },
  'kvm.apicReload': {
    choices: ['range-start-retry', 'invalidate-range', 'invalidate-page', 'range-start', 'none'],
    doc: 'who makes the vCPUs reload the APIC-access page pfn cached in the VMCS (APIC_ACCESS_ADDR) with KVM_REQ_APIC_PAGE_RELOAD: kvm_unmap_gfn_range from range_start, with the reload retried while an invalidation is in progress (0a8a5f2c8c26 + 878940b33d76, v6.6) · ->invalidate_range, after the PTE changed (e649b3f0188f, v5.8) · kvm_arch_mmu_notifier_invalidate_page after the PTE changed (v4.10–v4.12) · kvm_arch_mmu_notifier_invalidate_range from range_start, before the PTE changes (b1394e745b94, v4.15) · nobody (v4.13/v4.14: 369ea8242c0f removed ->invalidate_page)',
  },
  'iommu.notifyOnUpgrade': {
    choices: ['true', 'false', 'arm64'],
    doc: 'a read-only → writable PTE upgrade in place (wp_page_reuse, do_wp_page → ptep_set_access_flags) notifies secondary TLBs; an IOMMU that caches permission faults (arm-smmu-v3) livelocks without it: always · never (v4.x) · only on arm64, i.e. when world.iommu is arm-smmu-v3 (v6.6: arm64 __ptep_set_access_flags → flush_tlb_page → mmu_notifier_arch_invalidate_secondary_tlbs; x86 ptep_set_access_flags only set_pte()s, no flush)',
  },
  'iommu.setsDirty': {
    choices: ['hardware', 'false', 'true'],
    doc: 'whether the IOMMU page walk sets the CPU PTE accessed/dirty bits itself, so a device write to a writable clean PTE needs no PRI fault: as the hardware of world.iommu does — amd-v2 (GCR3 guest tables in x86 long-mode format; amd_iommu_v2 relies on the walk setting Accessed: mn_clear_flush_young flushes the IOTLB) and intel-svm (VT-d first-level translation of mm->pgd, IA-32e paging with A/D updates) set them, arm-smmu-v3 SVA without HTTU (no CD.HA/HD in the v6.6 driver) does not · hypothetical: never · hypothetical: always',
  },
  'intelSvm.deferredInvalidation': {
    choices: ['cmpxchg', 'none', 'ignore-active'],
    doc: 'intel_flush_svm_range (drivers/iommu/intel-svm.c) on VT-d with ECAP.DIS (world.ecapDis): cmpxchg64(&pasid_state_table[pasid], 0, 1ULL << 63) skips the PASID-IOTLB and device-IOTLB flush when no device has the PASID active and no deferral is pending, the hardware invalidating on the next activation (907fea3491d5, v4.4 … v4.20) · no deferral: the flush always happens (6d68b88e0993 removed it, v5.0) · hypothetical: the deferral tests only the DINV bit and skips the flush while a device has the PASID active',
  },
} as const;

export type SiteName = keyof typeof SITES;
export type SiteChoice<S extends SiteName> = (typeof SITES)[S]['choices'][number];
/** A full assignment: every site has exactly one of its allowed choices. */
export type Sites = { readonly [S in SiteName]: SiteChoice<S> };

export const SITE_NAMES = Object.keys(SITES) as SiteName[];

export function isSiteName(name: string): name is SiteName {
  return Object.prototype.hasOwnProperty.call(SITES, name);
}

export function isChoiceOf<S extends SiteName>(site: S, value: unknown): value is SiteChoice<S> {
  return typeof value === 'string' && (SITES[site].choices as readonly string[]).includes(value);
}
