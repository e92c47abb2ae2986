import type { World } from '../world.ts';
import type { SimThread, Step } from '../thread.ts';
import { PteKind } from '../model/pageTable.ts';
import { lockPtl, unlockPtl } from './ptl.ts';
import { madviseEnter, madviseExit } from './madviseCall.ts';
import { rangeEnd, rangeStart, single } from './notify.ts';
import { flushTlbBatchedPending } from './tlbBatch.ts';
import { gatherCpuTlbEntries, tlbFinishMmu } from './mmuGather.ts';

/**
 * madvise(P, MADV_FREE) → madvise_free_single_vma() (mm/madvise.c, v4.13): tlb_gather_mmu,
 * range_start, madvise_free_pte_range (clean + old the PTE, mark the page lazyfree), range_end,
 * tlb_finish_mmu (sim/kernel/mmuGather.ts: the CPU TLB flush comes last, and only if a PTE was
 * cleaned or another gather is in flight). Takes mmap_sem for read.
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
  /** tlb_remove_tlb_entry() gave the gather a range. */
  let tlbRange = false;
  if (kind === PteKind.Swap) {
    // free_swap_and_cache() + pte_clear_not_present_full(): the swapped-out content is dropped.
    t.label = `madvise_free_pte_range: ${batched}free_swap_and_cache + pte_clear`;
    w.pt.clear(p);
    w.backing.written[p] = 0;
    w.touch(p);
  } else if (kind === PteKind.Present && w.pt.frame[p] !== w.zeroFrame) {
    const f = w.pt.frame[p];
    // PageSwapCache is a page flag: the page may sit in the swap cache under another address's
    // slot (a KSM page swapped out through B, then mapped at A by replace_page).
    const slot = swapSlotOf(w, f);
    const inSwapCache = slot >= 0;
    // "if (PageSwapCache(page) || PageDirty(page)) { if (!trylock_page(page)) continue; /* If page is
    // shared with others, we couldn't clear PG_dirty of the page. */ if (page_mapcount(page) != 1)
    // continue; ...": the mapcount is read only for a page in the swap cache or with PG_dirty set
    // (mm/madvise.c madvise_free_pte_range, 4.10.17, 4.13.19, 4.15; v6.6 the same with
    // folio_mapcount). A clean page outside the swap cache is cleaned and marked lazyfree even when
    // another mm maps it (a COW page after fork): reclaim then discards this mm's mapping.
    const mustOwnPgDirty = inSwapCache || frames.dirty[f] === 1;
    if (mustOwnPgDirty && (frames.lockOwner[f] !== -1 || frames.mapcount[f] !== 1)) {
      // !trylock_page(), or PG_dirty shared with another mapper: "continue", the page is left alone.
      if (w.tracing) w.note(`frame ${f} skipped (${frames.lockOwner[f] !== -1 ? 'locked' : 'PG_dirty or swap cache, shared'})`);
    } else if (inSwapCache && w.pt.kind[slot] === PteKind.Swap) {
      // "if (PageSwapCache(page) && !try_to_free_swap(page)) continue": try_to_free_swap() returns 0
      // while page_swapcount() is not 0 (mm/swapfile.c, 4.13) — the slot's address still holds its
      // swap entry.
      if (w.tracing) w.note(`frame ${f} skipped (try_to_free_swap: swap:${w.pageName(slot)} still references the slot)`);
    } else {
      if (inSwapCache) {
        // try_to_free_swap(): page_swapcount() is 0, delete_from_swap_cache().
        w.backing.swapCache[slot] = -1;
        frames.refcount[f]--;
      }
      frames.dirty[f] = 0; // ClearPageDirty()
      // "if (pte_young(ptent) || pte_dirty(ptent))": ptep_get_and_clear_full + pte_mkold + pte_mkclean +
      // set_pte_at + tlb_remove_tlb_entry — the CPU entries (maybe writable) live on until tlb_finish_mmu.
      if (w.pt.young[p] === 1 || w.pt.dirty[p] === 1) {
        tlbRange = true;
        gatherCpuTlbEntries(w, p);
      }
      w.pt.dirty[p] = 0;
      w.pt.young[p] = 0;
      frames.lazyfree[f] = 1; // mark_page_lazyfree(): ClearPageSwapBacked
      w.touch(p);
      if (w.tracing) w.note(`${w.pageName(p)}: ${w.pteText(p)}, frame ${f} lazyfree`);
    }
  }
  yield* unlockPtl(w, t, p);
  yield* rangeEnd(w, t, single(p), false);
  yield* tlbFinishMmu(w, t, p, tlbRange, -1);
  yield* madviseExit(w, t, p);
}

/** The address whose swap slot holds frame f (PageSwapCache; a frame is in one slot at most), or -1. */
function swapSlotOf(w: World, f: number): number {
  return w.backing.swapCache.indexOf(f);
}
