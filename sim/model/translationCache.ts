/**
 * A cache of translations page → (frame, generation, write): a CPU TLB, the IOMMU's IOTLB, or a
 * device's ATS translation cache (ATC). The generation is the frame's allocation generation when
 * the translation was made, so an access through it can tell it reached a freed or reused frame.
 */
/** Who holds a cached translation: what a violation's signature names (not which CPU or device). */
/** TranslationCache.deferred values. */
export const enum DeferState {
  None = 0,
  /** Reclaim's tlbflush_unmap_batch owes the flush (set_tlb_ubc_flush_pending). */
  Tolerated = 1,
  /** An operation that had to flush a deferred entry first (flush_tlb_batched_pending, tlb_finish_mmu) let it live on. */
  Overdue = 2,
  /** An mmu_gather owes the flush (zap_pte_range without force_flush, madvise_free_pte_range): tlb_finish_mmu. */
  Gathered = 3,
}

export type CacheClass = 'cpu-tlb' | 'iommu' | 'kvm' | 'kvm-vmcs';

export class TranslationCache {
  readonly name: string;
  readonly kind: CacheClass;
  readonly valid: Uint8Array;
  readonly frame: Int32Array;
  readonly gen: Int32Array;
  readonly write: Uint8Array;
  /**
   * CPU TLBs only: whether this entry outlived its PTE under a deferred flush (sim/kernel/tlbBatch.ts):
   * tolerated while the party that deferred the flush still owes it (reclaim's tlbflush_unmap_batch,
   * an mmu_gather), overdue once an operation that had to flush it first let it live on. A fill or a
   * flush ends every state.
   */
  readonly deferred: Uint8Array;
  constructor(name: string, pages: number, kind: CacheClass = 'cpu-tlb') {
    this.name = name;
    this.kind = kind;
    this.valid = new Uint8Array(pages);
    this.frame = new Int32Array(pages).fill(-1);
    this.gen = new Int32Array(pages);
    this.write = new Uint8Array(pages);
    this.deferred = new Uint8Array(pages);
  }

  fill(p: number, frame: number, gen: number, write: boolean): void {
    this.valid[p] = 1;
    this.frame[p] = frame;
    this.gen[p] = gen;
    this.write[p] = write ? 1 : 0;
    this.deferred[p] = DeferState.None;
  }

  /** Returns true if an entry was dropped. */
  flush(p: number): boolean {
    if (this.valid[p] === 0) return false;
    this.valid[p] = 0;
    this.frame[p] = -1;
    this.write[p] = 0;
    this.deferred[p] = DeferState.None;
    return true;
  }

  flushAll(): void {
    this.valid.fill(0);
    this.frame.fill(-1);
    this.write.fill(0);
    this.deferred.fill(DeferState.None);
  }
}
