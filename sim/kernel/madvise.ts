import type { World } from '../world.ts';
import type { SimThread, Step } from '../thread.ts';
import { PteKind } from '../model/pageTable.ts';
import { lockPtl, unlockPtl } from './ptl.ts';
import { madviseEnter, madviseExit } from './madviseCall.ts';
import { rangeEnd, rangeStart, single } from './notify.ts';
import { flushTlbBatchedPending } from './tlbBatch.ts';

/**
 * madvise(P, MADV_FREE) → madvise_free_single_vma() (mm/madvise.c, v4.13): tlb_gather_mmu,
 * range_start, madvise_free_pte_range (clean + old the PTE, mark the page lazyfree), range_end,
 * tlb_finish_mmu (the CPU TLB flush comes last). Takes mmap_sem for read.
 */
export function* madviseFree(w: World, t: SimThread, p: number): Step {
  const frames = w.frames;
  yield* madviseEnter(w, t, p, 'madvise(MADV_FREE): down_read(mmap_sem)');
  w.mmTlb.pending++; // tlb_gather_mmu(): inc_tlb_flush_pending (read by tlb.nestedFlush)
  yield* rangeStart(w, t, single(p));
  yield* lockPtl(w, t, p, 'madvise_free_pte_range: pte_offset_map_lock');
  yield null;
  // ★ tlb.batchedPending: flush_tlb_batched_pending(mm) right after pte_offset_map_lock (3ea277194daa).
  const batched = flushTlbBatchedPending(w, p);
  t.label = `madvise_free_pte_range${batched === '' ? '' : `: ${batched.slice(0, -3)}`}`;
  const kind = w.pt.kind[p] as PteKind;
  if (kind === PteKind.Swap) {
    // free_swap_and_cache() + pte_clear_not_present_full(): the swapped-out content is dropped.
    t.label = `madvise_free_pte_range: ${batched}free_swap_and_cache + pte_clear`;
    w.pt.clear(p);
    w.backing.written[p] = 0;
    w.touch(p);
  } else if (kind === PteKind.Present && w.pt.frame[p] !== w.zeroFrame) {
    const f = w.pt.frame[p];
    const inSwapCache = w.backing.swapCache[p] === f;
    if (frames.mapcount[f] !== 1 || ((inSwapCache || frames.dirty[f] === 1) && frames.lockOwner[f] !== -1)) {
      // Shared with another mm, or !trylock_page(): "continue", the page is left alone.
      if (w.tracing) w.note(`frame ${f} skipped (shared or locked)`);
    } else {
      if (inSwapCache) {
        // try_to_free_swap(): the slot is no longer needed.
        w.backing.swapCache[p] = -1;
        frames.refcount[f]--;
      }
      frames.dirty[f] = 0; // ClearPageDirty()
      // ptep_get_and_clear_full + pte_mkold + pte_mkclean + set_pte_at + tlb_remove_tlb_entry (deferred flush)
      w.pt.dirty[p] = 0;
      w.pt.young[p] = 0;
      frames.lazyfree[f] = 1; // mark_page_lazyfree(): ClearPageSwapBacked
      w.touch(p);
      if (w.tracing) w.note(`${w.pageName(p)}: ${w.pteText(p)}, frame ${f} lazyfree`);
    }
  }
  yield* unlockPtl(w, t, p);
  yield* rangeEnd(w, t, single(p), false);
  yield null;
  t.label = 'tlb_finish_mmu: flush_tlb_range + dec_tlb_flush_pending';
  t.page = p;
  w.flushCpuTlbs(single(p));
  w.mmTlb.pending--;
  yield* madviseExit(w, t, p);
}
