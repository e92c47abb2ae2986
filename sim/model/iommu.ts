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
  /**
   * The hardware walk of the CPU page table sets its accessed/dirty bits like a CPU walk (★
   * iommu.setsDirty "hardware"): a device write to a writable clean PTE then needs no PRI fault.
   */
  abstract readonly walkSetsAccessedDirty: boolean;

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

  /** A device thread starts using the PASID (its first access): only intel-svm with ECAP.DIS tracks it. */
  activatePasid(_w: World): void {}

  /** A device thread's last access is done. */
  deactivatePasid(_w: World): void {}

  /**
   * Whether stale IOTLB/ATC entries are tolerated now: intel-svm's deferred invalidation is pending
   * and no device has the PASID active, so nobody can translate through them (split-mapping skips them).
   */
  toleratesStaleEntries(): boolean {
    return false;
  }

  /** The driver step that skipped a flush of page p which the hardware has not made up for yet ('' if none). */
  skippedFlushLabel(_p: number): string {
    return '';
  }
}

/**
 * amd_iommu_v2 (drivers/iommu/amd_iommu_v2.c): mn_invalidate_range() → amd_iommu_flush_page() /
 * amd_iommu_flush_tlb() queues INVALIDATE_IOMMU_PAGES and INVALIDATE_IOTLB_PAGES and waits for
 * completion, so one atomic step empties both caches. It registers ->invalidate_range (and
 * ->invalidate_page up to v4.12), no range_start/end.
 */
export class AmdIommuV2 extends Iommu {
  readonly flushLabel = 'amd_iommu_flush_page (IOMMU TLB + device IOTLB, wait)';
  /**
   * IOMMUv2 walks the mm's own page table (amd_iommu_bind_pasid → amd_iommu_domain_set_gcr3(…,
   * __pa(mm->pgd))) as a guest table in x86 long-mode format and maintains its A/D bits; the driver
   * relies on it: ->clear_flush_young (mn_clear_flush_young) only flushes the IOTLB so that the next
   * device access walks and sets Accessed again.
   */
  readonly walkSetsAccessedDirty = true;
  *invalidatePage(w: World, _t: SimThread, page: number): Step {
    this.flushRange(w, { first: page, last: page });
  }
}

/**
 * intel-svm (drivers/iommu/intel-svm.c): intel_invalidate_range() → intel_flush_svm_range():
 * a PASID-based IOTLB invalidation plus a device-IOTLB invalidation for ATS devices, submitted with
 * qi_submit_sync (waits). Legacy ->invalidate_page and ->change_pte (intel_change_pte) flush the
 * same way.
 *
 * Deferred invalidation (★ intelSvm.deferredInvalidation, only with world.ecapDis): on VT-d with
 * ECAP.DIS, intel_svm_alloc_pasid_tables() allocates a PASID-state table, intel_iommu_enable_pasid()
 * points the extended context entry at it and sets CONTEXT_DINVE, and intel_flush_svm_range() starts
 * with (907fea3491d5, v4.4; removed by 6d68b88e0993 "iommu/vt-d: Remove deferred invalidation",
 * v5.0; read in 4.10.1, 4.11, 4.13.19, 4.15):
 *
 *     if (svm->iommu->pasid_state_table &&
 *         !cmpxchg64(&svm->iommu->pasid_state_table[svm->pasid].val, 0, 1ULL << 63))
 *             return;
 *
 * The PASID-state entry holds the Active Reference Count (bits 47:32) and Deferred Invalidate
 * (bit 63). The VT-d 2.x spec: "The PASID-state table pointer field enables devices to communicate
 * whether a given address-space (PASID) is active or not at the device. Software can utilize the
 * PASID-state tables for deferred invalidation of cached mappings for inactive PASIDs". So the
 * cmpxchg skips both flushes only when no device has the PASID active and no deferral is pending;
 * otherwise (active, or DINV already set) it flushes as usual. What the hardware does with DINV is
 * not in the driver; racefarm models the reading the driver relies on (it skips the device-IOTLB
 * flush too): when the PASID becomes active again with DINV set, the deferred invalidation of the
 * PASID's IOTLB and device-TLB entries completes before the first translation, and DINV clears.
 * Activity: a device thread holds the PASID active from its first access to the end of its last.
 */
export class IntelSvm extends Iommu {
  readonly flushLabel = 'intel_flush_svm_range (PASID IOTLB + dev-IOTLB, qi_submit_sync)';
  /** First-level translation of mm->pgd (intel_svm_bind_mm: pasid_table[pasid] = __pa(mm->pgd) | 1): IA-32e paging, A/D set by the walk. */
  readonly walkSetsAccessedDirty = true;
  /** PASID-state entry: Active Reference Count (device threads between their first and last access). */
  activeRefs = 0;
  /** PASID-state entry: Deferred Invalidate (bit 63), set by intel_flush_svm_range's cmpxchg64, cleared by the hardware. */
  dinv = false;

  /** Pages whose flush intel_flush_svm_range skipped and the hardware has not yet invalidated (cleared at activation). */
  private readonly skipped: Uint8Array;

  constructor(kind: IommuKind, pages: number, devices: Device[]) {
    super(kind, pages, devices);
    this.skipped = new Uint8Array(pages);
  }

  override skippedFlushLabel(p: number): string {
    return this.skipped[p] === 1 ? 'intel_flush_svm_range: deferred (cmpxchg64 DINV)' : '';
  }

  override *invalidateRange(w: World, _t: SimThread, r: PageRange): Step {
    if (this.deferInvalidation(w)) {
      this.skipped.fill(1, r.first, r.last + 1);
      if (w.tracing) w.note(`intel_flush_svm_range: cmpxchg64(pasid_state, 0, DINV) succeeded, flush of ${w.rangeText(r)} deferred (PASID inactive)`);
      return;
    }
    this.flushRange(w, r);
  }

  /** The "Try deferred invalidate if available" test at the top of intel_flush_svm_range(). */
  private deferInvalidation(w: World): boolean {
    if (!w.scenario.world.ecapDis) return false; // no ECAP.DIS: pasid_state_table is NULL
    const how = w.sites['intelSvm.deferredInvalidation'];
    if (how === 'none') return false;
    // cmpxchg64(entry, 0, DINV): the whole entry must be 0 (ARC 0, DINV clear). The hypothetical
    // 'ignore-active' compares the DINV bit only, deferring while a device has the PASID active.
    if (this.dinv || (how === 'cmpxchg' && this.activeRefs > 0)) return false;
    this.dinv = true;
    return true;
  }

  *invalidatePage(w: World, t: SimThread, page: number): Step {
    yield* this.invalidateRange(w, t, { first: page, last: page });
  }

  *changePte(w: World, t: SimThread, page: number): Step {
    yield* this.invalidateRange(w, t, { first: page, last: page });
  }

  override activatePasid(w: World): void {
    if (this.activeRefs++ > 0 || !this.dinv) return;
    this.dinv = false;
    this.skipped.fill(0);
    if (w.tracing) w.note('VT-d: PASID active again with DINV set: the deferred invalidation runs before the first translation');
    this.flushRange(w, w.allPages);
  }

  override deactivatePasid(_w: World): void {
    this.activeRefs--;
  }

  override toleratesStaleEntries(): boolean {
    return this.dinv && this.activeRefs === 0;
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
  /** The v6.6 SVA context descriptor sets no CD.HA/HD (hardware translation table update is not used). */
  readonly walkSetsAccessedDirty = false;
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
