import type { World } from '../world.ts';
import type { SimThread, Step } from '../thread.ts';

/** A contiguous run of virtual pages, inclusive: mmu_notifier ranges are address ranges. */
export interface PageRange {
  readonly first: number;
  readonly last: number;
}

/**
 * What an mmu_notifier subscriber implements (struct mmu_notifier_ops). Every callback is a step
 * generator run with `yield*` inside the caller's step: a callback that never yields (an IOMMU
 * flush that waits for completion) happens within that step, atomically; KVM's callbacks yield to
 * take mmu_lock and so become interleaving points of their own. A missing callback is not called,
 * exactly as in __mmu_notifier_invalidate_range_start().
 */
export interface MmuNotifierOps {
  readonly name: string;
  invalidateRangeStart?(w: World, t: SimThread, r: PageRange): Step;
  invalidateRangeEnd?(w: World, t: SimThread, r: PageRange): Step;
  /** ->invalidate_range: flush the secondary TLB for the range before returning. */
  invalidateRange?(w: World, t: SimThread, r: PageRange): Step;
  /** ->invalidate_page (v4.12 and earlier). */
  invalidatePage?(w: World, t: SimThread, page: number): Step;
  /** ->change_pte, from set_pte_at_notify(): the PTE now points to `frame`. */
  changePte?(w: World, t: SimThread, page: number): Step;
}
