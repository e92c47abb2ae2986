import type { World } from '../world.ts';
import type { SimThread, Step } from '../thread.ts';

/** A contiguous run of virtual pages, inclusive: mmu_notifier ranges are address ranges. */
export interface PageRange {
  readonly first: number;
  readonly last: number;
}

/**
 * What an mmu_notifier subscriber implements (struct mmu_notifier_ops). Every callback is a step
 * generator: KVM's range_start takes mmu_lock and can be interleaved; an IOMMU flush is one step.
 * A missing callback is simply not called, exactly as in __mmu_notifier_invalidate_range_start().
 */
export interface MmuNotifierOps {
  readonly name: string;
  invalidateRangeStart?(w: World, t: SimThread, r: PageRange): Step;
  invalidateRangeEnd?(w: World, t: SimThread, r: PageRange): Step;
  /** ->invalidate_range: must flush the secondary TLB for the range before it returns. Atomic. */
  invalidateRange?(w: World, t: SimThread, r: PageRange): void;
  /** ->invalidate_page (legacy, removed in v4.13). Atomic. */
  invalidatePage?(w: World, t: SimThread, page: number): void;
}
