/**
 * A cache of translations page → (frame, generation, write): a CPU TLB, the IOMMU's IOTLB, or a
 * device's ATS translation cache (ATC). The generation is the frame's allocation generation when
 * the translation was made, so an access through it can tell it reached a freed or reused frame.
 */
/** Who holds a cached translation: what a violation's signature names (not which CPU or device). */
export type CacheClass = 'cpu-tlb' | 'iommu' | 'kvm' | 'kvm-vmcs';

export class TranslationCache {
  readonly name: string;
  readonly kind: CacheClass;
  readonly valid: Uint8Array;
  readonly frame: Int32Array;
  readonly gen: Int32Array;
  readonly write: Uint8Array;
  constructor(name: string, pages: number, kind: CacheClass = 'cpu-tlb') {
    this.name = name;
    this.kind = kind;
    this.valid = new Uint8Array(pages);
    this.frame = new Int32Array(pages).fill(-1);
    this.gen = new Int32Array(pages);
    this.write = new Uint8Array(pages);
  }

  fill(p: number, frame: number, gen: number, write: boolean): void {
    this.valid[p] = 1;
    this.frame[p] = frame;
    this.gen[p] = gen;
    this.write[p] = write ? 1 : 0;
  }

  /** Returns true if an entry was dropped. */
  flush(p: number): boolean {
    if (this.valid[p] === 0) return false;
    this.valid[p] = 0;
    this.frame[p] = -1;
    this.write[p] = 0;
    return true;
  }

  flushAll(): void {
    this.valid.fill(0);
    this.frame.fill(-1);
    this.write.fill(0);
  }
}
