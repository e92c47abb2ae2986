import type { World } from '../world.ts';
import type { SimThread, Step } from '../thread.ts';
import { DeferState } from '../model/translationCache.ts';
import { invalidateRange, single } from './notify.ts';

/**
 * The end of an mmu_gather (mm/memory.c 4.10.17–4.15.18), shared by zap_page_range() and
 * madvise_free_single_vma(): tlb_finish_mmu() → tlb_flush_mmu() = tlb_flush_mmu_tlbonly() (only if
 * the gather has a range, `tlb->end != 0`) + tlb_flush_mmu_free(); then dec_tlb_flush_pending().
 */

/** An mmu_gather now owes the flush of page p's CPU TLB entries (zap_pte_range without force_flush, madvise_free_pte_range). */
export function gatherCpuTlbEntries(w: World, p: number): void {
  for (const tlb of w.cpuTlbs) if (tlb.valid[p] === 1) tlb.deferred[p] = DeferState.Gathered;
}

/**
 * tlb_finish_mmu(&tlb, start, end): with ★ tlb.nestedFlush, `force = mm_tlb_flush_nested(mm)` widens
 * the gather to the whole range; tlb_flush_mmu() flushes if the gather has a range and frees what it
 * gathered; dec_tlb_flush_pending(mm).
 */
export function* tlbFinishMmu(w: World, t: SimThread, p: number, tlbRange: boolean, gathered: number): Step {
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
export function* tlbFlushMmuTlbonly(w: World, t: SimThread, p: number, label: string): Step {
  yield null;
  const notify = w.sites['zap.gatherInvalidate'] === 'before-free';
  t.label = `${label}: flush_tlb${notify ? ' + mmu_notifier_invalidate_range' : ''}`;
  t.page = p;
  w.flushCpuTlbs(single(p));
  if (notify) yield* invalidateRange(w, t, single(p));
}

/** tlb_flush_mmu_free(): free_pages_and_swap_cache() of the gathered page. */
export function* tlbFlushMmuFree(w: World, t: SimThread, p: number, gathered: number): Step {
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
