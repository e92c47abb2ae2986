import type { World } from '../world.ts';
import type { SimThread, Step } from '../thread.ts';
import { PteKind } from '../model/pageTable.ts';
import { lockPtl, unlockPtl } from './ptl.ts';
import { madviseEnter, madviseExit } from './madviseCall.ts';
import { invalidateRange, rangeEnd, rangeStart, single } from './notify.ts';

/**
 * zap_page_range() for P (munmap / MADV_DONTNEED, mm/memory.c): range_start, zap_pte_range()
 * clears the PTE into an mmu_gather, then tlb_flush_mmu(): tlb_flush_mmu_tlbonly() flushes the CPU
 * TLBs and — ★ zap.gatherInvalidate — calls mmu_notifier_invalidate_range(), and
 * tlb_flush_mmu_free() frees the gathered pages; range_end last.
 *
 * This is the force_flush path of zap_pte_range() (the gather batch filled up, as it does when
 * a large range is unmapped): the TLB flush happens before pte_unmap_unlock() and the frees before
 * range_end. With a small range the kernel frees in tlb_finish_mmu() after range_end instead.
 */
export function* zap(w: World, t: SimThread, p: number): Step {
  const frames = w.frames;
  yield* madviseEnter(w, t, p, 'madvise(MADV_DONTNEED): down_read(mmap_sem)');
  yield* rangeStart(w, t, single(p));
  yield* lockPtl(w, t, p, 'zap_pte_range: pte_offset_map_lock');
  yield null;
  t.label = 'zap_pte_range: ptep_get_and_clear_full + __tlb_remove_page';
  let gathered = -1;
  const kind = w.pt.kind[p] as PteKind;
  if (kind === PteKind.Present) {
    const f = w.pt.frame[p];
    if (f !== w.zeroFrame) {
      if (w.pt.dirty[p] === 1) frames.dirty[f] = 1; // set_page_dirty() (a file page stays in the page cache)
      frames.mapcount[f]--; // page_remove_rmap()
      gathered = f; // the mapping's reference now belongs to the gather
    }
    w.pt.clear(p);
    w.touch(p);
    if (w.tracing) w.note(`${w.pageName(p)}: frame ${f} → none, gathered`);
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
  yield null;
  t.label =
    w.sites['zap.gatherInvalidate'] === 'before-free'
      ? 'tlb_flush_mmu_tlbonly: flush_tlb + mmu_notifier_invalidate_range'
      : 'tlb_flush_mmu_tlbonly: flush_tlb';
  w.flushCpuTlbs(single(p));
  if (w.sites['zap.gatherInvalidate'] === 'before-free') yield* invalidateRange(w, t, single(p));
  yield* unlockPtl(w, t, p);
  yield null;
  t.label = 'tlb_flush_mmu_free: free_pages_and_swap_cache';
  t.page = p;
  if (gathered >= 0) {
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
  yield* rangeEnd(w, t, single(p), false);
  yield* madviseExit(w, t, p);
}
