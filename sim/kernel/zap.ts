import type { World } from '../world.ts';
import type { SimThread, Step } from '../thread.ts';
import { PteKind } from '../model/pageTable.ts';
import { DeferState } from '../model/translationCache.ts';
import { lockPtl, unlockPtl } from './ptl.ts';
import { madviseEnter, madviseExit } from './madviseCall.ts';
import { invalidateRange, rangeEnd, rangeStart, single } from './notify.ts';
import { flushTlbBatchedPending } from './tlbBatch.ts';

/**
 * zap_page_range() for P (munmap / MADV_DONTNEED, mm/memory.c 4.10.17–4.15.18): tlb_gather_mmu,
 * range_start, zap_pte_range() clears the PTE into the mmu_gather, range_end, tlb_finish_mmu().
 *
 * zap_pte_range() flushes under the PT lock only on `force_flush`: a dirty PTE of a file page
 * ("we needed to flush dirty TLB entries before releasing the ptl", 1cf35d47712d) or a full
 * gather (`__tlb_remove_page()` returned true — the scenario op `["zap", P, "batch-full"]`, as a
 * large munmap does). Then tlb_flush_mmu_tlbonly() flushes the CPU TLBs and — ★ zap.gatherInvalidate
 * — calls mmu_notifier_invalidate_range(), and tlb_flush_mmu_free() frees the gathered page before
 * range_end. Otherwise (the normal path) the CPU TLBs keep their entry past pte_unmap_unlock and
 * range_end, and tlb_finish_mmu() flushes and frees after range_end. A gather that cleared no
 * present PTE has `tlb->end == 0` and flushes nothing.
 *
 * ★ tlb.nestedFlush: since 99baac21e458 ("mm: fix MADV_[FREE|DONTNEED] TLB flush miss problem")
 * tlb_finish_mmu() flushes the whole range when `mm_tlb_flush_nested()` — another mmu_gather of the
 * mm is in flight, which may have cleared a PTE this one then found none. ★ zap.flushRange: v4.15
 * also has `flush_tlb_range(vma, start, end)` in zap_page_range() before range_end ("mm: always
 * flush VMA ranges affected by zap_page_range", reverted in v4.19 by 50c150f26261).
 */
export function* zap(w: World, t: SimThread, p: number, batchFull: boolean): Step {
  const frames = w.frames;
  yield* madviseEnter(w, t, p, 'madvise(MADV_DONTNEED): down_read(mmap_sem)');
  // tlb_gather_mmu(): inc_tlb_flush_pending(mm) (56236a59556c; 4.13.9, 4.15.18). Counted in every
  // preset: only tlb.nestedFlush reads it.
  w.mmTlb.pending++;
  yield* rangeStart(w, t, single(p));
  yield* lockPtl(w, t, p, 'zap_pte_range: pte_offset_map_lock');
  yield null;
  // ★ tlb.batchedPending: flush_tlb_batched_pending(mm) right after pte_offset_map_lock (3ea277194daa).
  t.label = `zap_pte_range: ${flushTlbBatchedPending(w, p)}ptep_get_and_clear_full + __tlb_remove_page`;
  let gathered = -1;
  /** tlb_remove_tlb_entry() set the gather's range: tlb->end != 0. */
  let tlbRange = false;
  let forceFlush = false;
  const kind = w.pt.kind[p] as PteKind;
  if (kind === PteKind.Present) {
    const f = w.pt.frame[p];
    tlbRange = true;
    if (f !== w.zeroFrame) {
      if (w.pt.dirty[p] === 1) {
        frames.dirty[f] = 1; // set_page_dirty() (a file page stays in the page cache)
        if (w.isFile[p] === 1) forceFlush = true; // "if (!PageAnon(page)) { if (pte_dirty(ptent)) { force_flush = 1; ..."
      }
      frames.mapcount[f]--; // page_remove_rmap()
      gathered = f; // the mapping's reference now belongs to the gather
      if (batchFull) forceFlush = true; // "if (unlikely(__tlb_remove_page(tlb, page))) { force_flush = 1; ..."
    }
    w.pt.clear(p);
    if (!forceFlush) {
      // The CPU TLB entries live on until tlb_finish_mmu(): the gather owes their flush.
      for (const tlb of w.cpuTlbs) if (tlb.valid[p] === 1) tlb.deferred[p] = DeferState.Gathered;
    }
    w.touch(p);
    if (w.tracing) w.note(`${w.pageName(p)}: frame ${f} → none, gathered${forceFlush ? ' (force_flush)' : ''}`);
  } else if (kind === PteKind.Swap) {
    // free_swap_and_cache(): the slot's content is dropped.
    w.pt.clear(p);
    w.backing.written[p] = 0;
    w.touch(p);
  } else if (kind === PteKind.Migration) {
    // A migration entry is cleared too (pte_clear_not_present_full); remove_migration_ptes() will
    // then find nothing to restore and the new page is freed.
    w.pt.clear(p);
    w.touch(p);
  }
  if (forceFlush) {
    // "Do the actual TLB flush before dropping ptl"
    yield* tlbFlushMmuTlbonly(w, t, p, 'zap_pte_range (force_flush): tlb_flush_mmu_tlbonly');
    tlbRange = false; // __tlb_reset_range()
  }
  yield* unlockPtl(w, t, p);
  if (forceFlush) {
    yield* tlbFlushMmuFree(w, t, p, gathered);
    gathered = -1;
  }
  if (w.sites['zap.flushRange'] === 'before-range-end') {
    yield null;
    t.label = 'zap_page_range: flush_tlb_range';
    t.page = p;
    w.flushCpuTlbs(single(p));
  }
  yield* rangeEnd(w, t, single(p), false);
  yield* tlbFinishMmu(w, t, p, tlbRange, gathered);
  yield* madviseExit(w, t, p);
}

/**
 * tlb_finish_mmu(&tlb, start, end): with ★ tlb.nestedFlush, `force = mm_tlb_flush_nested(mm)` widens
 * the gather to the whole range; tlb_flush_mmu() flushes if the gather has a range and frees what it
 * gathered; dec_tlb_flush_pending(mm).
 */
function* tlbFinishMmu(w: World, t: SimThread, p: number, tlbRange: boolean, gathered: number): Step {
  const nested = w.sites['tlb.nestedFlush'] === 'force' && w.mmTlb.pending > 1;
  if (tlbRange || nested) {
    yield* tlbFlushMmuTlbonly(w, t, p, `tlb_finish_mmu${nested ? ' (mm_tlb_flush_nested)' : ''}: tlb_flush_mmu_tlbonly`);
  }
  else markGatheredOverdue(w, p);
  if (gathered >= 0) yield* tlbFlushMmuFree(w, t, p, gathered);
  yield null;
  t.label = 'tlb_finish_mmu: dec_tlb_flush_pending';
  t.page = p;
  w.mmTlb.pending--;
}

/**
 * This gather returns without flushing page p, so a CPU TLB entry another gather still owes is
 * stale past a MADV_DONTNEED that already returned (the 99baac21e458 race, without its fix).
 */
export function markGatheredOverdue(w: World, p: number): void {
  for (const tlb of w.cpuTlbs) {
    if (tlb.valid[p] === 1 && tlb.deferred[p] === DeferState.Gathered) {
      tlb.deferred[p] = DeferState.Overdue;
      w.recheck(p);
    }
  }
}

/** tlb_flush_mmu_tlbonly(): tlb_flush() (the CPU TLBs) and — ★ zap.gatherInvalidate — mmu_notifier_invalidate_range(). */
function* tlbFlushMmuTlbonly(w: World, t: SimThread, p: number, label: string): Step {
  yield null;
  const notify = w.sites['zap.gatherInvalidate'] === 'before-free';
  t.label = `${label}: flush_tlb${notify ? ' + mmu_notifier_invalidate_range' : ''}`;
  t.page = p;
  w.flushCpuTlbs(single(p));
  if (notify) yield* invalidateRange(w, t, single(p));
}

/** tlb_flush_mmu_free(): free_pages_and_swap_cache() of the gathered page. */
function* tlbFlushMmuFree(w: World, t: SimThread, p: number, gathered: number): Step {
  const frames = w.frames;
  yield null;
  t.label = 'tlb_flush_mmu_free: free_pages_and_swap_cache';
  t.page = p;
  if (
    w.isFile[p] === 0 &&
    w.backing.swapCache[p] === gathered &&
    frames.lockOwner[gathered] === -1 &&
    frames.refcount[gathered] === 2
  ) {
    // free_swap_cache(): an unlocked page whose only other user is the swap cache leaves it.
    w.backing.swapCache[p] = -1;
    frames.refcount[gathered]--;
  }
  if (frames.put(gathered) && w.tracing) w.note(`frame ${gathered} freed`);
}
