import type { World } from '../world.ts';
import type { SimThread } from '../thread.ts';
import type { Gate } from '../model/gate.ts';
import { DeferState } from '../model/translationCache.ts';

/** A kernel step sequence that says whether it did anything. */
type Did = Generator<Gate | null, boolean, void>;

/**
 * Deferred CPU TLB flushes (x86, CONFIG_ARCH_WANT_BATCHED_UNMAP_TLB_FLUSH; mm/rmap.c of 4.10–6.6).
 *
 * Reclaim clears a PTE without flushing (`should_defer_flush()` → `ptep_get_and_clear()` +
 * `set_tlb_ubc_flush_pending()`, 72b252aed506, v4.3) and flushes once per shrink_page_list() batch:
 * `try_to_unmap_flush_dirty()` before pageout() writes a page that had a dirty PTE
 * (d950c9477d51, v4.3), `try_to_unmap_flush()` before the batch's pages are freed. While the flush
 * is owed, a CPU can still read — and, if the PTE was dirty, write — the page through its stale TLB
 * entry. Only the CPU TLB is deferred: try_to_unmap_one() still calls the secondary MMUs' notifier
 * under the PT lock (sim/kernel/reclaim.ts).
 *
 * Any other path that changes or clears the PTE under the PT lock and trusts "not present → no TLB
 * entry" has to flush first: `flush_tlb_batched_pending()` (3ea277194daa "mm, mprotect: flush TLB
 * if potentially racing with a parallel reclaim leaving stale TLB entries", in 4.13.9 and 4.15.18,
 * absent from 4.10.17 and 4.11.0) in change_pte_range(), zap_pte_range(), madvise_free_pte_range()
 * and move_ptes() — ★ site tlb.batchedPending.
 *
 * The split-mapping oracle tolerates a CPU TLB entry while the flush that will drop it is owed
 * (DeferState.Tolerated) and reports it once an operation that had to flush it let it live on
 * (DeferState.Overdue).
 */

/** current->tlb_ubc (struct tlbflush_unmap_batch): the reclaiming task's own deferred flush. */
export class UnmapBatch {
  flushRequired = false;
  writable = false;
}

/** The CPU TLB entries of page p that outlive its PTE now wait for a deferred flush. */
export function deferCpuTlbFlush(w: World, p: number): void {
  for (const tlb of w.cpuTlbs) if (tlb.valid[p] === 1) tlb.deferred[p] = DeferState.Tolerated;
}

/**
 * set_tlb_ubc_flush_pending(mm, pte_dirty(pteval)), in the step that cleared the PTE (under the PT
 * lock, which is what orders it against flush_tlb_batched_pending()).
 */
export function setTlbUbcFlushPending(w: World, ubc: UnmapBatch, p: number, writable: boolean): void {
  deferCpuTlbFlush(w, p);
  ubc.flushRequired = true;
  w.mmTlb.batched = 1;
  // "If the PTE was dirty then it's best to assume it's writable."
  if (writable) ubc.writable = true;
}

/**
 * try_to_unmap_flush(): arch_tlbbatch_flush() → flush_tlb_others(cpumask, TLB_FLUSH_ALL), every CPU
 * that ran the mm drops all its entries. mm->tlb_flush_batched stays set (only
 * flush_tlb_batched_pending() clears it). As a step of its own; returns whether it flushed.
 */
export function* tryToUnmapFlush(w: World, t: SimThread, ubc: UnmapBatch, page: number): Did {
  if (!ubc.flushRequired) return false;
  yield null;
  tryToUnmapFlushNow(w, t, ubc, page);
  return true;
}

/** try_to_unmap_flush() inside the current step (the caller's step starts with it). */
export function tryToUnmapFlushNow(w: World, t: SimThread, ubc: UnmapBatch, page: number): boolean {
  if (!ubc.flushRequired) return false;
  t.label = 'try_to_unmap_flush: arch_tlbbatch_flush';
  t.page = page;
  w.flushCpuTlbs(w.allPages);
  ubc.flushRequired = false;
  ubc.writable = false;
  return true;
}

/**
 * try_to_unmap_flush_dirty(), inside the current step: "Flush iff there are potentially writable TLB
 * entries that can race with IO". Returns whether it flushed.
 */
export function tryToUnmapFlushDirtyNow(w: World, t: SimThread, ubc: UnmapBatch, page: number): boolean {
  return ubc.writable && tryToUnmapFlushNow(w, t, ubc, page);
}

/**
 * flush_tlb_batched_pending(mm), called under the PT lock of page p in the caller's step. With the
 * fix: if reclaim left a deferred flush, flush_tlb_mm() now. Without it (v4.10, v4.11) the caller
 * goes on believing a non-present PTE has no TLB entry; the stale entries of p are overdue from here.
 * Returns what it did, as a prefix for the step's label ('' when it did nothing).
 */
export function flushTlbBatchedPending(w: World, p: number): string {
  if (w.sites['tlb.batchedPending'] === 'flush') {
    if (w.mmTlb.batched === 0) return '';
    w.flushCpuTlbs(w.allPages);
    w.mmTlb.batched = 0;
    return 'flush_tlb_batched_pending (flush_tlb_mm) + ';
  }
  let overdue = false;
  for (const tlb of w.cpuTlbs) {
    if (tlb.valid[p] === 1 && tlb.deferred[p] === DeferState.Tolerated) {
      tlb.deferred[p] = DeferState.Overdue;
      overdue = true;
    }
  }
  if (overdue) {
    w.recheck(p);
    if (w.tracing) w.note(`${w.pageName(p)}: a CPU TLB entry of a deferred flush survives (no flush_tlb_batched_pending)`);
  }
  return '';
}
