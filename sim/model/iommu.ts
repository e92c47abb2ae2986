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
    this.atc = new TranslationCache(`${name}.atc`, pages, 'iommu');
  }
}

/** A PRI page request in flight: the device thread waits on it, the IOMMU fault worker completes it. */
export class PageRequest implements Gate {
  done = false;
  /** The PRI response is "invalid": handle_mm_fault refused the access (access_error, VM_FAULT_SIGSEGV); the DMA aborts. */
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
 * An IOMMU bound to the mm's PASID: its own TLB for the PASID (IOTLB) plus every ATS device's
 * ATC. Subclasses say which mmu_notifier callbacks the driver registers and how it translates.
 */
export abstract class Iommu implements MmuNotifierOps {
  readonly name: string;
  readonly kind: IommuKind;
  readonly iotlb: TranslationCache;
  readonly devices: Device[];
  readonly faults = new PageRequestQueue();
  /** Device accesses waiting on a PRI response: the PASID is active while any is in flight. */
  inFlight = 0;
  /**
   * arm-smmu-v3 without broadcast TLB maintenance keeps answering a write with the read-only entry
   * it cached instead of walking again; the others re-walk on a permission miss.
   */
  readonly cachesPermissionFaults: boolean = false;
  abstract readonly flushLabel: string;

  constructor(kind: IommuKind, pages: number, devices: Device[]) {
    this.kind = kind;
    this.name = kind;
    this.iotlb = new TranslationCache(`${kind}.iotlb`, pages, 'iommu');
    this.devices = devices;
  }

  flushRange(w: World, r: PageRange): void {
    for (let p = r.first; p <= r.last; p++) {
      let dropped = this.iotlb.flush(p);
      for (const d of this.devices) dropped = d.atc.flush(p) || dropped;
      if (dropped) w.touch(p);
    }
    if (w.tracing) w.note(`${this.flushLabel} ${w.rangeText(r)}`);
  }

  *invalidateRange(w: World, _t: SimThread, r: PageRange): Step {
    this.flushRange(w, r);
  }

  /** Called at the start of a device access step: nothing to do unless invalidations were deferred. */
  beforeDeviceAccess(_w: World): void {}
}

/**
 * amd_iommu_v2 (drivers/iommu/amd_iommu_v2.c): mn_invalidate_range() → amd_iommu_flush_page() /
 * amd_iommu_flush_tlb() queues INVALIDATE_IOMMU_PAGES and INVALIDATE_IOTLB_PAGES and waits for
 * completion, so one atomic step empties both caches. It registers ->invalidate_range (and
 * ->invalidate_page up to v4.12), no range_start/end.
 */
export class AmdIommuV2 extends Iommu {
  readonly flushLabel = 'amd_iommu_flush_page (IOMMU TLB + device IOTLB, wait)';
  *invalidatePage(w: World, _t: SimThread, page: number): Step {
    this.flushRange(w, { first: page, last: page });
  }
}

/**
 * intel-svm (drivers/iommu/intel-svm.c): intel_invalidate_range() → intel_flush_svm_range():
 * a PASID-based IOTLB invalidation plus a device-IOTLB invalidation for ATS devices, submitted with
 * qi_submit_sync (waits). Legacy ->invalidate_page and ->change_pte (intel_change_pte) flush the
 * same way. ★ intelSvm.deferredInvalidation: while no device access is in flight the PASID is
 * inactive and the flush is postponed until the device next runs.
 */
export class IntelSvm extends Iommu {
  readonly flushLabel = 'intel_flush_svm_range (PASID IOTLB + dev-IOTLB, qi_submit_sync)';
  private readonly deferred: Uint8Array;
  private anyDeferred = false;

  constructor(kind: IommuKind, pages: number, devices: Device[]) {
    super(kind, pages, devices);
    this.deferred = new Uint8Array(pages);
  }

  override *invalidateRange(w: World, _t: SimThread, r: PageRange): Step {
    if (w.sites['intelSvm.deferredInvalidation'] === 'true' && this.inFlight === 0) {
      for (let p = r.first; p <= r.last; p++) this.deferred[p] = 1;
      this.anyDeferred = true;
      if (w.tracing) w.note(`intel-svm: PASID inactive, flush of ${w.rangeText(r)} deferred`);
      return;
    }
    this.flushRange(w, r);
  }

  *invalidatePage(w: World, t: SimThread, page: number): Step {
    yield* this.invalidateRange(w, t, { first: page, last: page });
  }

  *changePte(w: World, t: SimThread, page: number): Step {
    yield* this.invalidateRange(w, t, { first: page, last: page });
  }

  override beforeDeviceAccess(w: World): void {
    if (!this.anyDeferred) return;
    for (let p = 0; p < this.deferred.length; p++) {
      if (this.deferred[p] === 1) {
        this.deferred[p] = 0;
        this.flushRange(w, { first: p, last: p });
      }
    }
    this.anyDeferred = false;
  }
}

/**
 * arm-smmu-v3 with SVA (drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c): ->invalidate_range
 * (renamed arch_invalidate_secondary_tlbs in v6.6) issues TLBI by ASID/VA and ATC invalidation.
 * Without broadcast TLB maintenance the SMMU's TLB keeps a read-only entry after the CPU PTE was
 * upgraded, and answers a device write with a permission fault until somebody invalidates it.
 */
export class ArmSmmuV3 extends Iommu {
  readonly flushLabel = 'arm_smmu_tlb_inv_range_asid + arm_smmu_atc_inv_domain';
  override readonly cachesPermissionFaults = true;
}

export function createIommu(kind: IommuKind, pages: number, devices: Device[]): Iommu {
  switch (kind) {
    case 'amd-v2':
      return new AmdIommuV2(kind, pages, devices);
    case 'intel-svm':
      return new IntelSvm(kind, pages, devices);
    case 'arm-smmu-v3':
      return new ArmSmmuV3(kind, pages, devices);
  }
}
