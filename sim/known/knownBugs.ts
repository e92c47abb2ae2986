import type { OracleName } from '../oracles/violation.ts';
import type { Sites } from '../variants/sites.ts';
import { PRESETS } from '../variants/presets.ts';
import type { Finding } from '../finding.ts';
import type { TraceRow } from '../trace/row.ts';
import { replayFinding } from '../replay.ts';

/**
 * Real kernel behaviours that a correct preset still has: a finding under such a preset that matches
 * one is the kernel's bug, faithfully modelled, not the model's. A finding that matches is labelled
 * `known: <id>` (explore --json `known`) instead of being reported as new.
 *
 * A matcher is the oracle, a pattern over the labels of the participating steps (the same labels the
 * signature hashes), and the site choice that stands for the buggy kernel code; the presets it covers
 * are derived from that choice, so a hypothetical preset built on a buggy release carries the bug too.
 * Only behaviours read in the kernel source are listed (docs/kernel-notes.md, §14).
 */
export interface KnownBug {
  readonly id: string;
  readonly title: string;
  /** The kernel code and the commit that fixed (or introduced) it. */
  readonly kernel: string;
  readonly fixedBy: string;
  readonly oracle: OracleName;
  /** Matches when some participant label matches. */
  readonly participant?: RegExp;
  /**
   * For a behaviour the participants do not name (they are the two steps the oracle compares, not
   * what happened between them): a test over the finding's replayed trace, given the page the
   * violating step touched and the violating step's index.
   */
  readonly inTrace?: (rows: readonly TraceRow[], page: string, step: number) => boolean;
  /** The site assignment that models the buggy code. */
  readonly when: (sites: Sites) => boolean;
}

/**
 * soft-dirty-file-pte-dropped: after the last clear_soft_dirty of the page, the page was written,
 * then its PTE went to none with nothing left behind to carry the soft-dirty bit (a file page
 * unmapped by reclaim, any page zapped, a clean MADV_FREE page discarded), all before the pagemap
 * read that reports it clean.
 */
function softDirtyDroppedWithPte(rows: readonly TraceRow[], page: string, step: number): boolean {
  let lastClear = -1;
  rows.forEach((r, i) => {
    if (r.step < step && r.page === page && /clear_soft_dirty/.test(r.label)) lastClear = i;
  });
  if (lastClear < 0) return false;
  const written = new RegExp(`(^|; )${page}\\[\\d+\\] := `);
  let wrote = false;
  for (let i = lastClear + 1; i < rows.length && rows[i].step < step; i++) {
    const r = rows[i];
    if (r.page === page && written.test(r.effects)) wrote = true;
    else if (wrote && r.page === page && PTE_DROPPED.test(r.label)) return true;
  }
  return false;
}

/**
 * soft-dirty-writable-migration-entry: clear_refs met the page's PTE as a migration entry (try_to_unmap_one
 * under TTU_MIGRATION had replaced it), cleared only its swap soft-dirty bit, and remove_migration_pte
 * then restored a writable PTE from the writable entry: the writes that follow take no fault.
 */
function softDirtyThroughMigrationEntry(rows: readonly TraceRow[], page: string, step: number): boolean {
  let lastClear = -1;
  let entryAtClear = false;
  let migrationEntry = false;
  rows.forEach((r, i) => {
    if (r.step >= step || r.page !== page) return;
    if (/set_pte_at\(migration entry\)/.test(r.label)) migrationEntry = true;
    else if (/remove_migration_pte: set_pte_at/.test(r.label)) migrationEntry = false;
    if (/clear_soft_dirty/.test(r.label)) {
      lastClear = i;
      entryAtClear = migrationEntry;
    }
  });
  if (lastClear < 0 || !entryAtClear) return false;
  return rows.slice(lastClear + 1).some((r) => r.step < step && r.page === page && /remove_migration_pte: set_pte_at/.test(r.label) && / rw\b/.test(r.effects));
}

/**
 * ksm-merge-madv-free-discard: the violating page got its mapping from KSM (replace_page), never had
 * MADV_FREE itself, and lost that mapping to reclaim's discard of a clean MADV_FREE page: another
 * mapper's MADV_FREE had cleared the shared KSM page's PG_dirty.
 */
function ksmPageDiscardedForAnotherMapper(rows: readonly TraceRow[], page: string, step: number): boolean {
  let merged = false;
  let ownMadvFree = false;
  for (const r of rows) {
    if (r.step >= step || r.page !== page) continue;
    if (/^replace_page: ptep_clear_flush/.test(r.label)) merged = true;
    else if (/^madvise_free_pte_range/.test(r.label)) ownMadvFree = true;
    else if (merged && !ownMadvFree && /try_to_unmap_one: discard \(clean MADV_FREE page\)/.test(r.label)) return true;
  }
  return false;
}

/**
 * kvm-apic-access-page-stale-vmcs: a guest access to the violating page went through a VMCS whose
 * APIC_ACCESS_ADDR no longer is the APIC-access page's frame — an APIC access to a page that is not
 * the APIC page, or raw memory where the APIC page now is (the model's access labels say which).
 */
function apicAccessThroughStaleVmcs(rows: readonly TraceRow[], page: string, step: number): boolean {
  return rows.some((r) => r.step <= step && r.page === page && /APIC access \(EPT|not an APIC access/.test(`${r.label} ${r.effects}`));
}

/** After the page's last clear_soft_dirty and before `step`, a row on the page whose label matches `upgrade`. */
function upgradedAfterClear(rows: readonly TraceRow[], page: string, step: number, upgrade: RegExp): boolean {
  let cleared = false;
  let upgraded = false;
  for (const r of rows) {
    if (r.step >= step || r.page !== page) continue;
    if (/clear_soft_dirty/.test(r.label)) {
      cleared = true;
      upgraded = false;
    } else if (cleared && upgrade.test(r.label)) upgraded = true;
  }
  return upgraded;
}

/** Kernel steps that clear a PTE and leave pte_none: no swap entry to keep _PAGE_SWP_SOFT_DIRTY. */
const PTE_DROPPED = /try_to_unmap_one: dec_mm_counter\(file\)|try_to_unmap_one: discard|zap_pte_range: ptep_get_and_clear_full/;

export const KNOWN_BUGS: readonly KnownBug[] = [
  {
    id: 'mprotect-softdirty-dirty-accountable',
    title: 'mprotect(PROT_WRITE) makes a dirty shared-file PTE writable right after clear_refs: the next write takes no fault and soft-dirty is lost',
    // mm/mprotect.c change_pte_range, v4.10–v4.15 (and up to v5.x): "Avoid taking write faults for
    // known dirty pages": dirty_accountable && pte_dirty(ptent) && (pte_soft_dirty(ptent) ||
    // !(vma->vm_flags & VM_SOFTDIRTY)) → pte_mkwrite. clear_refs_write clears VM_SOFTDIRTY and the
    // PTE's soft-dirty bit, so the test passes exactly when tracking needs the fault (inverted).
    kernel: 'mm/mprotect.c change_pte_range (v4.10–v4.15): dirty_accountable && pte_dirty && (pte_soft_dirty || !(vm_flags & VM_SOFTDIRTY))',
    fixedBy: '76aefad628aa ("mm/mprotect: fix soft-dirty check in can_change_pte_writable()", v6.0), Peter Xu; reproduced by him on old kernels with a shared file mapping',
    oracle: 'soft-dirty-missed',
    participant: /change_pte_range.*dirty_accountable && pte_dirty/,
    // When the write came through a secondary MMU (a vCPU's spte installed from the upgraded PTE,
    // explore program 69935), the participants are the pagemap read and the spte: look at the trace.
    inTrace: (rows, page, step) => upgradedAfterClear(rows, page, step, /change_pte_range.*dirty_accountable && pte_dirty/),
    when: (s) => s['mprotect.writeUpgrade'] === 'dirty-accountable',
  },
  {
    id: 'mprotect-softdirty-v5.19',
    title: 'can_change_pte_writable() as merged in v5.19 upgrades a dirty exclusive-anonymous or shared PTE although soft-dirty tracking needs the fault',
    // mm/mprotect.c can_change_pte_writable (64fe24a3e05e, v5.19): "if (vma_soft_dirty_enabled… "
    // was written as (vma->vm_flags & VM_SOFTDIRTY) && !pte_soft_dirty(pte) → return false: inverted.
    kernel: 'mm/mprotect.c can_change_pte_writable (64fe24a3e05e, v5.19)',
    fixedBy: '76aefad628aa (v6.0) turned the soft-dirty test around',
    oracle: 'soft-dirty-missed',
    participant: /can_change_pte_writable v5\.19/,
    when: (s) => s['mprotect.writeUpgrade'] === 'exclusive-anon-inverted',
  },
  {
    id: 'soft-dirty-file-pte-dropped',
    title: 'a page written after clear_refs loses its soft-dirty bit when its PTE is dropped (file page reclaimed, page zapped): pagemap reports it clean',
    // fs/proc/task_mmu.c pte_to_pagemap_entry (4.13, 4.15 fee46e25ac8c; same test in v6.6):
    // PM_SOFT_DIRTY from pte_soft_dirty() of a present PTE, pte_swp_soft_dirty() of a swap PTE, else
    // only from vma->vm_flags & VM_SOFTDIRTY — which clear_refs_write just cleared. mm/rmap.c
    // try_to_unmap_one keeps the bit only for anonymous pages (swp_pte = pte_swp_mksoft_dirty);
    // a file page takes the `else dec_mm_counter(mm, mm_counter_file(page))` branch and leaves
    // pte_none; zap_pte_range leaves pte_none for any page. The refault (do_read_fault →
    // alloc_set_pte, mk_pte without pte_mkdirty) maps the page clean. The soft-dirty bit for
    // non-anonymous pages was saved only in nonlinear pte_file entries (41bb3476b361, v3.13), gone
    // with remap_file_pages' emulation (v4.0); Documentation/admin-guide/mm/soft-dirty.rst names
    // only munmap+mmap (new vmas get VM_SOFTDIRTY). A later proposal to mark reclaimed shmem PTEs
    // (PTE_MARKER_PAGEOUT, linux-mm 2021) was not merged for this.
    kernel: 'fs/proc/task_mmu.c pte_to_pagemap_entry: a none PTE is soft-dirty only through VM_SOFTDIRTY; mm/rmap.c try_to_unmap_one (file page) and mm/memory.c zap_pte_range leave pte_none',
    fixedBy: 'not fixed (v4.10–v6.6 alike): a limitation of soft-dirty tracking, not a regression',
    oracle: 'soft-dirty-missed',
    inTrace: softDirtyDroppedWithPte,
    when: () => true,
  },
  {
    id: 'soft-dirty-writable-migration-entry',
    title: 'clear_refs during a migration leaves a writable migration entry writable: remove_migration_pte restores a writable PTE and the next writes are not soft-dirty',
    // fs/proc/task_mmu.c clear_soft_dirty (4.13, 4.15 fee46e25ac8c, v6.6 alike): a present PTE is
    // pte_wrprotect()ed and cleaned, but `else if (is_swap_pte(ptent)) { ptent =
    // pte_swp_clear_soft_dirty(ptent); set_pte_at(…); }` — a migration entry keeps its write
    // permission. mm/migrate.c remove_migration_pte: `pte = pte_mkold(mk_pte(new, vm_page_prot));
    // if (pte_swp_soft_dirty(*pvmw.pte)) pte = pte_mksoft_dirty(pte); … if
    // (is_write_migration_entry(entry)) pte = maybe_mkwrite(pte, vma);` (is_writable_migration_entry
    // in v6.6): a writable, clean, not soft-dirty PTE. A CPU store through it sets only the hardware
    // dirty bit; KVM's hva_to_pfn_fast (__get_user_pages_fast, write=1) pins it without a fault.
    kernel: 'fs/proc/task_mmu.c clear_soft_dirty (swap PTE: only pte_swp_clear_soft_dirty) + mm/migrate.c remove_migration_pte (maybe_mkwrite for a write migration entry)',
    fixedBy: 'not fixed in the modelled releases (the same two functions in v6.6)',
    oracle: 'soft-dirty-missed',
    inTrace: softDirtyThroughMigrationEntry,
    when: () => true,
  },
  {
    id: 'kvm-apic-access-page-stale-vmcs',
    title: "a vCPU's VMCS keeps the APIC-access page's old frame after reclaim or migration moved it (no reload, or one requested before the PTE changed): guest accesses that translate to the old frame, now another page's, are taken as APIC accesses, and APIC accesses to the new frame reach raw memory",
    // arch/x86/kvm: the APIC-access page is not pinned (c24ae0dcd3e8); only KVM_REQ_APIC_PAGE_RELOAD
    // from the mmu_notifier makes vmx_set_apic_access_page_addr write the new pfn into
    // APIC_ACCESS_ADDR. v4.13/v4.14: nobody sends it (369ea8242c0f removed ->invalidate_page and with
    // it kvm_arch_mmu_notifier_invalidate_page); v4.15 (b1394e745b94) sends it from range_start,
    // before try_to_unmap_one changes the PTE, so the reload can read the old pfn. Bugzilla 197951;
    // fixed by e649b3f0188f (v5.8, ->invalidate_range) and in v6.6 by 0a8a5f2c8c26 + 878940b33d76
    // (docs/kernel-notes.md, KVM's APIC-access page). Catalog: kvm-apic-access-migrate (realBugIn).
    kernel: 'arch/x86/kvm/x86.c kvm_arch_mmu_notifier_invalidate_range (from range_start in v4.15; not called in v4.13) + vmx.c vmx_set_apic_access_page_addr',
    fixedBy: 'e649b3f0188f (v5.8); v6.6: 0a8a5f2c8c26 + 878940b33d76',
    oracle: 'stale-read',
    participant: /^kvm-vmcs$/,
    inTrace: apicAccessThroughStaleVmcs,
    when: (s) => s['kvm.apicReload'] === 'none' || s['kvm.apicReload'] === 'range-start',
  },
  {
    id: 'kvm-apic-access-page-stale-vmcs-lost-write',
    title: 'the same stale APIC_ACCESS_ADDR seen as a lost write: a guest write to the page that reuses the old frame went to the virtual APIC, not to memory',
    kernel: 'as kvm-apic-access-page-stale-vmcs',
    fixedBy: 'e649b3f0188f (v5.8); v6.6: 0a8a5f2c8c26 + 878940b33d76',
    oracle: 'lost-write',
    participant: /^kvm-vmcs$/,
    inTrace: apicAccessThroughStaleVmcs,
    when: (s) => s['kvm.apicReload'] === 'none' || s['kvm.apicReload'] === 'range-start',
  },
  {
    id: 'reclaim-deferred-flush-stale-read',
    title: "a CPU reads a reclaimed page through its stale read-only TLB entry while reclaim's batched flush is pending, after another agent swapped the page back in and wrote the new copy",
    // mm/vmscan.c shrink_page_list (4.13, 4.15, v6.6): try_to_unmap(page, ttu_flags | TTU_BATCH_FLUSH)
    // clears the PTE without a flush (try_to_unmap_one: ptep_get_and_clear + set_tlb_ubc_flush_pending,
    // 72b252aed506, v4.3); a clean page goes straight to __remove_mapping (deleted from the swap or
    // page cache) and onto free_pages; only after the loop `try_to_unmap_flush();
    // free_hot_cold_page_list(&free_pages, true)`. Meanwhile a fault by another thread or the
    // IOMMU's PRI handler (do_swap_page / filemap_fault) finds no cached page, reads the slot or
    // file into a new page and maps it; its writes do not reach the old frame that the first CPU's
    // TLB still maps. The fault path does not call flush_tlb_batched_pending() (3ea277194daa adds
    // it to mprotect, zap and MADV_FREE only): x86 only guarantees that a stale entry of a clean PTE
    // cannot write ("a clear->dirty transition on a cached TLB entry is written through and traps"),
    // reads are accepted until the flush.
    kernel: "mm/vmscan.c shrink_page_list: __remove_mapping before try_to_unmap_flush(); mm/rmap.c try_to_unmap_one's deferred flush; no flush_tlb_batched_pending() on the fault path",
    fixedBy: 'not fixed: the batched reclaim flush (72b252aed506, v4.3) tolerates reads through stale read-only entries until try_to_unmap_flush()',
    oracle: 'stale-read',
    participant: /set_tlb_ubc_flush_pending/,
    when: (s) => s['unmap.tlbBatch'] === 'deferred' && s['tlb.batchedPending'] === 'flush',
  },
  {
    id: 'ksm-merge-madv-free-discard',
    title: "MADV_FREE of a KSM page's only mapper, while ksmd merges a second page into it, clears PG_dirty; the second page's clean KSM PTE is then discarded by reclaim and reads zero",
    // mm/ksm.c try_to_merge_two_pages (4.13, 4.15): try_to_merge_with_ksm_page(rmap_item, page, NULL)
    // makes `page` the KSM page (try_to_merge_one_page: set_page_stable_node + "Page reclaim just
    // frees a clean page with no dirty ptes: make sure that the ksm page would be swapped"
    // SetPageDirty, from the MADV_FREE series, v4.5) and unlocks it; only then does
    // try_to_merge_with_ksm_page(tree_rmap_item, tree_page, page) lock tree_page, not the KSM page,
    // and replace_page() add the second mapping (page_add_anon_rmap + set_pte_at_notify of a clean,
    // read-only PTE). In between, mm/madvise.c madvise_free_pte_range (4.13) on the first mapper
    // finds PageDirty, trylock_page succeeds, page_mapcount == 1, so ClearPageDirty and
    // mark_page_lazyfree (mm/swap.c: PageAnon holds for a KSM page) clear PG_swapbacked. Nothing
    // re-dirties it: shrink_page_list skips add_to_swap for a lazyfree page and try_to_unmap_one's
    // "MADV_FREE page check" (!PageSwapBacked && !PageDirty) discards every clean mapping — the
    // second page's too, whose owner never called MADV_FREE. The same checks in v6.6
    // (madvise_free_pte_range's folio_mapcount test, folio_mark_lazyfree, try_to_unmap_one).
    kernel: 'mm/ksm.c try_to_merge_two_pages / try_to_merge_one_page (SetPageDirty on the first page only) + replace_page; mm/madvise.c madvise_free_pte_range (ClearPageDirty at page_mapcount 1); mm/rmap.c try_to_unmap_one (discard of a clean !PageSwapBacked page)',
    fixedBy: 'not fixed in the modelled releases, by our reading of the same functions in 4.13, 4.15 and v6.6; found by the explore self-check (program 11024), not found reported in the linux-mm archive searched',
    oracle: 'lost-write',
    inTrace: ksmPageDiscardedForAnotherMapper,
    when: () => true,
  },
];


/** The presets that have a known bug's site choice (for docs and the explore summary). */
export function presetsWith(bug: KnownBug): string[] {
  return [...PRESETS.values()].filter((v) => bug.when(v.sites)).map((v) => v.name);
}

/** What a finding is matched on. */
export interface KnownBugQuery {
  readonly oracle: OracleName;
  readonly participants: readonly string[];
  readonly sites: Sites;
}

/**
 * The id of the listed real kernel bug a finding matches, or null. Entries with `inTrace` need the
 * finding's trace: `trace` is called (once, lazily) to get it with the violating page and step.
 */
export function knownBugOf(f: KnownBugQuery, trace?: () => { rows: readonly TraceRow[]; page: string; step: number } | null): string | null {
  let got: { rows: readonly TraceRow[]; page: string; step: number } | null | undefined;
  for (const b of KNOWN_BUGS) {
    if (b.oracle !== f.oracle || !b.when(f.sites)) continue;
    if (b.participant !== undefined && f.participants.some((p) => b.participant!.test(p))) return b.id;
    if (b.inTrace !== undefined && trace !== undefined) {
      if (got === undefined) got = trace();
      if (got !== null && b.inTrace(got.rows, got.page, got.step)) return b.id;
    }
  }
  return null;
}

/** knownBugOf for a finding (its decisions replayed with tracing on when an entry needs the trace). */
export function knownBugOfFinding(f: Finding): string | null {
  return knownBugOf({ oracle: f.oracle, participants: f.participants, sites: f.variant.sites }, () => {
    const r = replayFinding(f);
    if (!r.reproduced || r.run.trace === null) return null;
    // The violation names its page; an end-of-run oracle has no step row of its own to take it from.
    const page = r.violation.page !== '' ? r.violation.page : r.run.trace.find((x) => x.step === r.violation.step)?.page;
    return page === undefined ? null : { rows: r.run.trace, page, step: r.violation.step };
  });
}
