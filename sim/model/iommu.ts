import { TranslationCache } from './translationCache.ts';
import type { Gate } from './gate.ts';
import type { MmuNotifierOps, PageRange } from './secondaryMmu.ts';
import type { World } from '../world.ts';
import type { SimThread, Step } from '../thread.ts';

export type IommuKind = 'amd-v2' | 'intel-svm' | 'arm-smmu-v3';

/** A device behind the IOMMU, with its ATS translation cache (the "device TLB"). */
export class Device {
  readonly index: number;
  readonly name: string;
  readonly ats: boolean;
  readonly atc: TranslationCache;
  constructor(index: number, name: string, ats: boolean, pages: number) {
    this.index = index;
    this.name = name;
    this.ats = ats;
    this.atc = new TranslationCache(`${name}.atc`, pages);
  }
}

/** A PRI page request in flight: the device thread waits on it, the IOMMU fault worker completes it. */
export class PageRequest implements Gate {
  done = false;
  /** Set when the fault worker's handle_mm_fault returned VM_FAULT_ERROR-like failure (not used by anon memory). */
  failed = false;
  readonly page: number;
  readonly write: boolean;
  readonly device: number;
  constructor(device: number, page: number, write: boolean) {
    this.device = device;
    this.page = page;
    this.write = write;
  }
  isOpen(): boolean {
    return this.done;
  }
}

/** The queue the IOMMU's PPR log feeds; the fault worker's gate is "the queue has work". */
export class PageRequestQueue implements Gate {
  private readonly items: PageRequest[] = [];
  private head = 0;
  push(r: PageRequest): void {
    this.items.push(r);
  }
  shift(): PageRequest | undefined {
    return this.head < this.items.length ? this.items[this.head++] : undefined;
  }
  isOpen(): boolean {
    return this.head < this.items.length;
  }
  get length(): number {
    return this.items.length - this.head;
  }
}

/**
 * amd_iommu_v2 (drivers/iommu/amd_iommu_v2.c): the IOMMU's own TLB for the PASID plus every ATS
 * device's ATC. mn_invalidate_range() → amd_iommu_flush_page()/amd_iommu_flush_tlb() queues
 * INVALIDATE_IOMMU_PAGES and INVALIDATE_IOTLB_PAGES and waits for completion, so one atomic step
 * empties both caches. It registers no invalidate_range_start/end: only ->invalidate_range (and
 * ->invalidate_page in v4.12 and earlier).
 */
export class Iommu implements MmuNotifierOps {
  readonly name: string;
  readonly kind: IommuKind;
  readonly iotlb: TranslationCache;
  readonly devices: Device[];
  readonly faults = new PageRequestQueue();

  constructor(kind: IommuKind, pages: number, devices: Device[]) {
    this.kind = kind;
    this.name = kind;
    this.iotlb = new TranslationCache(`${kind}.iotlb`, pages);
    this.devices = devices;
  }

  flushRange(w: World, r: PageRange): void {
    for (let p = r.first; p <= r.last; p++) {
      let dropped = this.iotlb.flush(p);
      for (const d of this.devices) dropped = d.atc.flush(p) || dropped;
      if (dropped) w.touch(p, -1);
    }
    if (w.tracing) w.note(`${this.name} flush ${w.rangeText(r)} (IOTLB + ATC)`);
  }

  *invalidateRange(w: World, _t: SimThread, r: PageRange): Step {
    this.flushRange(w, r);
  }

  *invalidatePage(w: World, _t: SimThread, page: number): Step {
    this.flushRange(w, { first: page, last: page });
  }
}
