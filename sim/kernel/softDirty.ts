import type { World } from '../world.ts';
import type { SimThread, Step } from '../thread.ts';
import { PteKind } from '../model/pageTable.ts';
import { lockPtl, unlockPtl } from './ptl.ts';
import { invalidateRange, rangeEnd, rangeStart } from './notify.ts';

/**
 * echo 4 > /proc/PID/clear_refs → clear_refs_write(CLEAR_REFS_SOFT_DIRTY) (fs/proc/task_mmu.c,
 * 4.10.17, 4.11.0, 4.13.9, 4.15.18): down_read(mmap_sem); ★ clearRefs.tlbFlush `tlb-gather`:
 * tlb_gather_mmu(&tlb, mm, 0, -1) (since "mm: fix KSM data corruption", Minchan Kim, 2017: in 4.13.9,
 * not in 4.11.0); if any vma has VM_SOFTDIRTY: up_read, down_write, clear VM_SOFTDIRTY and
 * vma_set_page_prot() on every vma, downgrade_write; range_start(0, -1); per PTE under its PT lock
 * clear_soft_dirty() (write-protect, clear the soft-dirty bit); range_end(0, -1) — ★
 * clearRefs.invalidate: whether its invalidate_range reaches the secondary TLBs — then the CPU
 * flush: flush_tlb_mm() (4.10, 4.11) or tlb_finish_mmu(&tlb, 0, -1), whose full-mm gather
 * (`fullmm = !(start | (end+1))`) flushes everything (x86 tlb_flush: TLB_FLUSH_ALL) and passes the
 * empty range ~0..~0 to mmu_notifier_invalidate_range(); up_read.
 */
export function* clearRefs(w: World, t: SimThread): Step {
  if (w.sites['clearRefs.tlbFlush'] === 'write-lock') {
    yield* clearRefsWriteLocked(w, t);
    return;
  }
  yield w.mmapSem.readGate;
  const gather = w.sites['clearRefs.tlbFlush'] === 'tlb-gather';
  t.label = gather ? 'clear_refs_write: down_read(mmap_sem) + tlb_gather_mmu' : 'clear_refs_write: down_read(mmap_sem)';
  t.page = -1;
  w.mmapSem.downRead();
  if (gather) w.mmTlb.pending++; // inc_tlb_flush_pending(mm)
  w.oracles.beginClearRefs();
  if (w.vmaSoftDirty.includes(1)) {
    // "for (vma = mm->mmap; vma; vma = vma->vm_next) { if (!(vma->vm_flags & VM_SOFTDIRTY)) continue; up_read(...)"
    yield null;
    t.label = 'clear_refs_write: up_read(mmap_sem) (a vma has VM_SOFTDIRTY)';
    w.mmapSem.upRead();
    yield w.mmapSem.writeGate;
    t.label = 'clear_refs_write: down_write(mmap_sem), vm_flags &= ~VM_SOFTDIRTY + vma_set_page_prot';
    w.mmapSem.downWrite(t.id);
    w.vmaSoftDirty.fill(0);
    yield null;
    t.label = 'clear_refs_write: downgrade_write(mmap_sem)';
    w.mmapSem.upWrite();
    w.mmapSem.downRead();
  }
  yield* rangeStart(w, t, w.allPages);
  yield* clearRefsWalk(w, t);
  yield* rangeEnd(w, t, w.allPages, w.sites['clearRefs.invalidate'] === 'none');
  yield null;
  t.label = gather ? 'clear_refs_write: tlb_finish_mmu (fullmm: flush_tlb_mm_range TLB_FLUSH_ALL)' : 'clear_refs_write: flush_tlb_mm';
  t.page = -1;
  w.flushCpuTlbs(w.allPages);
  if (gather) w.mmTlb.pending--; // dec_tlb_flush_pending(mm)
  yield null;
  t.label = 'clear_refs_write: up_read(mmap_sem)';
  w.mmapSem.upRead();
  w.oracles.endClearRefs();
}

/** walk_page_range() → clear_refs_pte_range(): per PTE under its PT lock, clear_soft_dirty(). */
function* clearRefsWalk(w: World, t: SimThread): Step {
  for (let p = 0; p < w.pageCount; p++) {
    yield* lockPtl(w, t, p, 'clear_refs_pte_range: pte_offset_map_lock');
    yield null;
    t.label = 'clear_soft_dirty: ptep_modify_prot_start/commit (wrprotect, clear soft-dirty)';
    const kind = w.pt.kind[p] as PteKind;
    if (kind === PteKind.Present) {
      w.pt.write[p] = 0;
      w.pt.softDirty[p] = 0;
      w.touch(p);
      if (w.tracing) w.note(`${w.pageName(p)}: ${w.pteText(p)}`);
    } else if (kind === PteKind.Swap || kind === PteKind.Migration) {
      w.pt.softDirty[p] = 0; // pte_swp_clear_soft_dirty(): a migration entry is a swap pte too
    }
    yield* unlockPtl(w, t, p);
  }
}

/**
 * ★ clearRefs.tlbFlush `write-lock`: clear_refs_write() of v6.6 (fs/proc/task_mmu.c, read in 6.6.0
 * and 6.6.63, docs/kernel-notes.md): mmap_write_lock_killable() for the whole operation; under it
 * the VM_SOFTDIRTY pass, inc_tlb_flush_pending(), range_start(0, -1), the walk, range_end — which in
 * v6.6 calls only ->invalidate_range_end (1af5a8109904 made ->invalidate_range the TLB-flush hook
 * arch_invalidate_secondary_tlbs) — then flush_tlb_mm(): x86 flush_tlb_mm_range() and arm64
 * flush_tlb_mm() call mmu_notifier_arch_invalidate_secondary_tlbs() after the CPU flush, so the
 * IOMMUs are flushed there (clearRefs.invalidate `range-end` = "the flush that follows range_end
 * reaches them"; `none`: it does not); dec_tlb_flush_pending(); mmap_write_unlock().
 */
function* clearRefsWriteLocked(w: World, t: SimThread): Step {
  yield w.mmapSem.writeGate;
  t.label = 'clear_refs_write: mmap_write_lock_killable';
  t.page = -1;
  w.mmapSem.downWrite(t.id);
  w.oracles.beginClearRefs();
  yield null;
  t.label = 'clear_refs_write: vm_flags_clear(VM_SOFTDIRTY) + vma_set_page_prot, inc_tlb_flush_pending';
  w.vmaSoftDirty.fill(0);
  w.mmTlb.pending++;
  // From here to dec_tlb_flush_pending the flush is owed: v6.6 flushes secondary TLBs with the CPU's
  // (arch_invalidate_secondary_tlbs), so an IOMMU entry the walk made stale is as tolerated as a CPU
  // TLB entry until flush_tlb_mm — the split-mapping oracle's window spans it, not only range_start..end.
  for (let p = 0; p < w.pageCount; p++) w.windows[p]++;
  yield* rangeStart(w, t, w.allPages);
  yield* clearRefsWalk(w, t);
  yield* rangeEnd(w, t, w.allPages, true);
  yield null;
  t.label = 'clear_refs_write: flush_tlb_mm → mmu_notifier_arch_invalidate_secondary_tlbs';
  t.page = -1;
  w.flushCpuTlbs(w.allPages);
  if (w.sites['clearRefs.invalidate'] !== 'none') yield* invalidateRange(w, t, w.allPages);
  w.mmTlb.pending--; // dec_tlb_flush_pending(mm)
  for (let p = 0; p < w.pageCount; p++) {
    w.windows[p]--;
    w.recheck(p);
  }
  yield null;
  t.label = 'clear_refs_write: mmap_write_unlock';
  w.mmapSem.upWrite();
  w.oracles.endClearRefs();
}

/**
 * read /proc/PID/pagemap for P → pagemap_pmd_range() → pte_to_pagemap_entry(): PM_SOFT_DIRTY from
 * pte_soft_dirty() or pte_swp_soft_dirty(), read under the PT lock.
 */
export function* pagemap(w: World, t: SimThread, p: number): Step {
  yield w.mmapSem.readGate;
  t.label = 'pagemap_read: down_read(mmap_sem)';
  t.page = p;
  w.mmapSem.downRead();
  yield* lockPtl(w, t, p, 'pagemap_pmd_range: pte_offset_map_lock');
  yield null;
  t.label = 'pte_to_pagemap_entry';
  const kind = w.pt.kind[p] as PteKind;
  if (kind !== PteKind.None) {
    // PM_SOFT_DIRTY: pte_soft_dirty() / pte_swp_soft_dirty(), or the vma's VM_SOFTDIRTY.
    const sd = w.pt.softDirty[p] === 1 || w.vmaSoftDirty[p] === 1;
    if (w.tracing) w.note(`${w.pageName(p)} soft-dirty=${sd ? 1 : 0}`);
    w.oracles.onPagemap(p, sd);
  } else if (w.tracing) {
    w.note(`${w.pageName(p)} not present`);
  }
  yield* unlockPtl(w, t, p);
  yield null;
  t.label = 'pagemap_read: up_read(mmap_sem)';
  w.mmapSem.upRead();
}
