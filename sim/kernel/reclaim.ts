import type { Gate } from '../model/gate.ts';
import type { World } from '../world.ts';
import type { SimThread, Step } from '../thread.ts';
import { PteKind } from '../model/pageTable.ts';
import { lockPtl, unlockPtl } from './ptl.ts';
import { invalidatePageStep, invalidateRangeStep, rangeEnd, rangeStart, single } from './notify.ts';
import { UnmapBatch, setTlbUbcFlushPending, tryToUnmapFlush, tryToUnmapFlushDirtyNow } from './tlbBatch.ts';

/** What try_to_unmap_one() did to the PTE. */
const enum Unmapped {
  /** The PTE no longer mapped the page when the walk got there. */
  NotMapped,
  /** Swap entry installed (anonymous, swap-backed page). */
  Swapped,
  /** File page: the PTE is left empty, the page stays in the page cache until __remove_mapping. */
  FileUnmapped,
  /** Clean MADV_FREE page: PTE left empty, page to be freed without writeback. */
  Discarded,
  /** MADV_FREE page found dirty again: the PTE was restored and the page is kept. */
  Redirtied,
}

/**
 * Reclaim of the page mapped at P: shrink_page_list() (mm/vmscan.c) → add_to_swap() →
 * try_to_unmap() → try_to_unmap_one() (mm/rmap.c) → pageout() → __remove_mapping() → free.
 * Reclaim holds PG_locked from isolation to the end, so a concurrent do_swap_page() waits for it
 * (a simplification: pageout() really unlocks at writeback and reclaim re-locks later).
 *
 * The CPU TLB flush is deferred (★ unmap.tlbBatch, sim/kernel/tlbBatch.ts): try_to_unmap() runs
 * with TTU_BATCH_FLUSH, `try_to_unmap_flush_dirty()` comes right before pageout(), and the page
 * leaves its mapping (__remove_mapping) before the final `try_to_unmap_flush()`, which precedes
 * `free_hot_cold_page_list()` (mm/vmscan.c shrink_page_list, 4.10.17, 4.11.0, 4.13.9, 4.15.18).
 */
export function* reclaim(w: World, t: SimThread, p: number): Step {
  const ubc = new UnmapBatch(); // current->tlb_ubc
  const freed = yield* shrinkPageList(w, t, p, ubc);
  // End of shrink_page_list(): "try_to_unmap_flush(); free_hot_cold_page_list(&free_pages, true);"
  const flushed = yield* tryToUnmapFlush(w, t, ubc, p);
  if (freed >= 0) {
    if (flushed) {
      yield null;
      t.label = 'shrink_page_list: free_hot_cold_page_list';
      t.page = p;
    } else {
      // Nothing was deferred: the free follows in the same step (no other thread can reach the frozen page).
      t.label += ' + free_hot_cold_page_list';
    }
    w.frames.release(freed);
    if (w.tracing) w.note(`frame ${freed} freed`);
  }
}

/**
 * One page through shrink_page_list(): returns the frame put on free_pages (-1 if the page was
 * kept). The page is off its mapping by then, but not free until after try_to_unmap_flush().
 */
function* shrinkPageList(w: World, t: SimThread, p: number, ubc: UnmapBatch): Generator<Gate | null, number, void> {
  const frames = w.frames;
  const backing = w.backing;
  yield null;
  t.label = 'shrink_page_list: isolate_lru_page + trylock_page';
  t.page = p;
  // The LRU page of P: the mapped one, or an unmapped page still in the swap cache (a fault or a
  // GUP pin kept it there last time).
  const mapped = w.pt.kind[p] === PteKind.Present && w.pt.frame[p] !== w.zeroFrame;
  const file = w.isFile[p] === 1;
  const cachedOnly = (file && w.pt.kind[p] === PteKind.None) || (!file && w.pt.kind[p] === PteKind.Swap);
  const f = mapped ? w.pt.frame[p] : cachedOnly ? backing.swapCache[p] : -1;
  if (f < 0) {
    if (w.tracing) w.note(`${w.pageName(p)} is ${w.pteText(p)}: no LRU page to reclaim`);
    return -1;
  }
  if (frames.lockOwner[f] !== -1) {
    if (w.tracing) w.note(`frame ${f} is locked: keep`);
    return -1;
  }
  frames.refcount[f]++; // isolation reference
  frames.lockOwner[f] = t.id;
  if (w.tracing) w.note(`frame ${f} isolated and locked${mapped ? '' : file ? ' (page cache, unmapped)' : ' (swap cache, unmapped)'}`);

  if (mapped && !file && frames.lazyfree[f] === 0 && backing.swapCache[p] !== f) {
    yield null;
    t.label = 'add_to_swap';
    t.page = p;
    if (w.pt.kind[p] !== PteKind.Present || w.pt.frame[p] !== f) {
      // P stopped mapping the isolated page meanwhile (a fault COWed P away from a page its other
      // mapper keeps, or from a KSM page another address keeps). The kernel's add_to_swap() gives
      // that page a fresh slot (get_swap_page) and reclaims it for its other mappers; P's own slot
      // is not involved. racefarm has one slot per virtual page and does not model the other
      // mappers' swap-out, so the page is kept (activate_locked) — never put into P's slot, which
      // would alias P's swap entry to a page P no longer maps (MB-1/MB-2 in docs/explore.md).
      t.label = 'add_to_swap: page no longer mapped at P (its other mappers keep it), activate_locked';
      frames.lockOwner[f] = -1;
      frames.put(f);
      return -1;
    }
    if ((frames.ksm[f] === 1 && frames.mapcount[f] > 1) || backing.swapCache.includes(f)) {
      // A page mapped at another address of this mm too (a KSM page: ksm-merge maps one page at P and
      // Q), or already in the swap cache under another address's slot. The kernel swaps such a page
      // to one slot and try_to_unmap() unmaps every mapping (rmap_walk_ksm); racefarm's slots are one
      // per address, so it keeps the page (activate_locked) instead of giving one page two slots
      // (MB-2 in docs/explore.md: both slots then resolved to one frame, and a write through one address
      // showed at the other).
      t.label = 'add_to_swap: page mapped at another address too (KSM), activate_locked';
      frames.lockOwner[f] = -1;
      frames.put(f);
      return -1;
    }
    if (backing.swapCache[p] >= 0) {
      // The page's one swap slot still holds another page (a COW original kept by its other
      // mapper): racefarm has no second slot, as if get_swap_page() found swap full. Keep it.
      t.label = 'add_to_swap: no swap slot, activate_locked';
      frames.lockOwner[f] = -1;
      frames.put(f);
      return -1;
    }
    backing.swapCache[p] = f;
    frames.refcount[f]++;
    frames.dirty[f] = 1; // add_to_swap() dirties the page: its swap slot holds nothing yet
  }

  const result = mapped ? yield* tryToUnmapOne(w, t, p, f, ubc) : Unmapped.Swapped;

  // Back in shrink_page_list().
  yield null;
  t.page = p;
  if (result === Unmapped.Redirtied || result === Unmapped.NotMapped || frames.mapcount[f] > 0) {
    t.label = 'shrink_page_list: keep_locked (still mapped)';
    frames.lockOwner[f] = -1;
    frames.put(f);
    return -1;
  }
  if (result === Unmapped.Discarded) {
    // "follow __remove_mapping for reference": page_ref_freeze(page, 1) and still clean.
    t.label = 'shrink_page_list: lazyfree page_ref_freeze (free_pages)';
    if (frames.refcount[f] === 1 && frames.dirty[f] === 0) {
      if (w.tracing) w.note(`frame ${f} frozen, on free_pages (no writeback)`);
      return f;
    }
    frames.lockOwner[f] = -1;
    frames.put(f);
    if (w.tracing) w.note(`frame ${f} in use again: keep`);
    return -1;
  }
  if (frames.dirty[f] === 1) {
    // "Page is dirty. Flush the TLB if a writable entry potentially exists to avoid CPU writes
    // after IO starts and then write it out here."
    if (tryToUnmapFlushDirtyNow(w, t, ubc, p)) {
      yield null;
      t.page = p;
    }
    t.label = file ? 'pageout: ->writepage' : 'pageout: swap_writepage';
    frames.dirty[f] = 0; // clear_page_dirty_for_io()
    backing.writeFromFrame(p, frames.cells, f);
    if (w.tracing) w.note(`frame ${f} written to slot ${w.pageName(p)}`);
    yield null;
    t.page = p;
  }
  // __remove_mapping(): page_ref_freeze(page, 2) — isolation + swap/page cache — and still clean.
  t.label = file ? '__remove_mapping: page_ref_freeze + __delete_from_page_cache' : '__remove_mapping: page_ref_freeze + __delete_from_swap_cache';
  if (frames.refcount[f] === 2 && frames.dirty[f] === 0 && backing.swapCache[p] === f) {
    backing.swapCache[p] = -1;
    if (w.tracing) w.note(`frame ${f} frozen, on free_pages`);
    return f;
  }
  frames.lockOwner[f] = -1;
  frames.put(f);
  if (w.tracing) w.note(`frame ${f} has other users: keep`);
  return -1;
}

/**
 * should_defer_flush(mm, TTU_BATCH_FLUSH): batch when "remote CPUs need to be flushed" — the mm
 * runs on some CPU other than the reclaimer's (kswapd or direct reclaim: never one of the
 * scenario's CPU threads), i.e. the scenario has CPU threads at all.
 */
function shouldDeferFlush(w: World): boolean {
  return w.sites['unmap.tlbBatch'] === 'deferred' && w.cpuTlbs.length > 0;
}

/**
 * try_to_unmap_one() for one anonymous PTE. ★ sites: unmap.rangeBracket (range_start/end around
 * the walk, since v4.13) and unmap.notify (where the secondary TLBs are told).
 */
function* tryToUnmapOne(w: World, t: SimThread, p: number, f: number, ubc: UnmapBatch): Generator<Gate | null, Unmapped, void> {
  const frames = w.frames;
  const notify = w.sites['unmap.notify'];
  const bracket = w.sites['unmap.rangeBracket'] === 'true';
  if (bracket) yield* rangeStart(w, t, single(p));
  yield* lockPtl(w, t, p, 'try_to_unmap_one: page_vma_mapped_walk (pte_offset_map_lock)');
  let result: Unmapped = Unmapped.NotMapped;
  if (w.pt.kind[p] === PteKind.Present && w.pt.frame[p] === f) {
    yield null;
    const wasDirty = w.pt.dirty[p] === 1;
    const wasSoftDirty = w.pt.softDirty[p] === 1;
    const wasWrite = w.pt.write[p] === 1;
    w.pt.clear(p);
    if (shouldDeferFlush(w)) {
      // "We clear the PTE but do not flush so potentially a remote CPU could still be writing to
      // the page." A clean PTE's TLB entry cannot write: x86 writes the clear→dirty transition
      // through and traps on the unmapped PTE (the model's TLB caches write only from a dirty PTE).
      t.label = 'try_to_unmap_one: ptep_get_and_clear + set_tlb_ubc_flush_pending';
      setTlbUbcFlushPending(w, ubc, p, wasDirty);
    } else {
      t.label = 'try_to_unmap_one: ptep_clear_flush';
      w.flushCpuTlbs(single(p));
    }
    w.touch(p);
    if (wasDirty) frames.dirty[f] = 1; // "Move the dirty bit to the page. Now the pte is gone."
    if (w.tracing) w.note(`${w.pageName(p)}: frame ${f} → none${wasDirty ? ', set_page_dirty' : ''}`);

    const file = w.isFile[p] === 1;
    const redirtied = frames.lazyfree[f] === 1 && frames.dirty[f] === 1;
    // v4.15 keeps the under-PTL call for the anonymous cases only ("it has be done above for all
    // cases requiring it"): a file page is not freed before range_end.
    if (notify === 'under-ptl-when-cleared' && !redirtied && !file) {
      // v4.15 (0f10851ea475): "Invalidate as we cleared the pte", before set_pte_at(swp_pte) / goto discard.
      yield* invalidateRangeStep(w, t, single(p));
    }
    yield null;
    if (file) {
      t.label = 'try_to_unmap_one: dec_mm_counter(file) + page_remove_rmap';
      frames.mapcount[f]--;
      frames.put(f);
      result = Unmapped.FileUnmapped;
    } else if (frames.lazyfree[f] === 1) {
      if (!redirtied) {
        t.label = 'try_to_unmap_one: discard (clean MADV_FREE page) + page_remove_rmap';
        frames.mapcount[f]--;
        frames.put(f);
        result = Unmapped.Discarded;
      } else {
        // "If the page was redirtied, it cannot be discarded. Remap the page to page table."
        t.label = 'try_to_unmap_one: set_pte_at(pteval) + SetPageSwapBacked (redirtied)';
        w.pt.setPresent(p, f, wasWrite, wasDirty, wasSoftDirty);
        frames.lazyfree[f] = 0;
        result = Unmapped.Redirtied;
      }
    } else {
      t.label = 'try_to_unmap_one: set_pte_at(swp_pte) + page_remove_rmap';
      w.pt.setSwap(p, wasSoftDirty);
      frames.mapcount[f]--;
      frames.put(f);
      result = Unmapped.Swapped;
    }
    w.touch(p);
    if (w.tracing) w.note(`${w.pageName(p)} → ${w.pteText(p)}`);
    if (notify === 'under-ptl' && result !== Unmapped.Redirtied) {
      // v4.13 (369ea8242c0f): at "discard:", after page_remove_rmap, still under the PT lock; the
      // redirtied MADV_FREE page "break"s out of the loop before it.
      yield* invalidateRangeStep(w, t, single(p));
    } else if (notify === 'page-under-ptl' && result !== Unmapped.Redirtied) {
      // v4.11–v4.12 (c7ab0d2fdc84): mmu_notifier_invalidate_page() at "discard:", inside the walk.
      yield* invalidatePageStep(w, t, p);
    }
  }
  yield* unlockPtl(w, t, p, 'try_to_unmap_one: page_vma_mapped_walk_done (pte_unmap_unlock)');
  if (notify === 'after-unlock' && result !== Unmapped.NotMapped) {
    // ≤ v4.10: "out_unmap: pte_unmap_unlock(pte, ptl); if (ret != SWAP_FAIL ...) mmu_notifier_invalidate_page(mm, address)".
    yield* invalidatePageStep(w, t, p);
  }
  if (bracket) yield* rangeEnd(w, t, single(p), false);
  return result;
}
