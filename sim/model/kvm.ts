import { SpinLock } from './locks.ts';
import { TranslationCache } from './translationCache.ts';
import type { MmuNotifierOps, PageRange } from './secondaryMmu.ts';
import type { World } from '../world.ts';
import type { SimThread, Step } from '../thread.ts';

/**
 * KVM as an mmu_notifier subscriber (virt/kvm/kvm_main.c, v4.13): the shadow/EPT page table
 * (sptes, page → frame), mmu_lock, mmu_notifier_seq and mmu_notifier_count. The vCPU fault path
 * (sim/kernel/kvmFault.ts) samples the seq before get_user_pages and checks mmu_notifier_retry()
 * under mmu_lock before installing an spte.
 */
export class Kvm implements MmuNotifierOps {
  readonly name = 'kvm';
  readonly mmuLock = new SpinLock('kvm->mmu_lock');
  readonly spte: TranslationCache;
  seq = 0;
  count = 0;
  /**
   * The guest's APIC-access page (page option apicAccess; KVM's APIC_ACCESS_PAGE_PRIVATE_MEMSLOT
   * at APIC_DEFAULT_PHYS_BASE), or -1. Its pfn is cached outside the sptes, in each vCPU's VMCS
   * field APIC_ACCESS_ADDR (sim/kernel/kvmApic.ts).
   */
  readonly apicPage: number;
  /** Each vCPU's VMCS APIC_ACCESS_ADDR, as a one-entry translation cache at index apicPage. */
  readonly vmcs: TranslationCache[];
  /** KVM_REQ_APIC_PAGE_RELOAD pending, per vCPU (kvm_make_all_cpus_request sets it, vcpu_enter_guest clears it). */
  readonly apicReloadPending: Uint8Array;
  /** Each vCPU's local APIC registers, as the guest sees them through the APIC-access page (cells per vCPU). */
  readonly apicRegs: Int32Array;

  constructor(pages: number, vcpus = 0, apicPage = -1, apicInit: readonly number[] = []) {
    this.spte = new TranslationCache('kvm.spte', pages, 'kvm');
    this.apicPage = apicPage;
    this.vmcs = [];
    const cells = apicInit.length;
    this.apicRegs = new Int32Array(apicPage >= 0 ? vcpus * cells : 0);
    // vmx_vcpu_reset() → kvm_make_request(KVM_REQ_APIC_PAGE_RELOAD): the first guest entry loads the field.
    this.apicReloadPending = new Uint8Array(apicPage >= 0 ? vcpus : 0).fill(1);
    if (apicPage >= 0) {
      for (let v = 0; v < vcpus; v++) {
        this.vmcs.push(new TranslationCache(`vcpu${v}.vmcs.APIC_ACCESS_ADDR`, pages, 'kvm-vmcs'));
        this.apicRegs.set(apicInit, v * cells);
      }
    }
  }

  /** Whether the range holds the APIC-access page (the hva test of kvm_arch_mmu_notifier_invalidate_range/_page). */
  private coversApic(r: PageRange): boolean {
    return this.apicPage >= 0 && r.first <= this.apicPage && this.apicPage <= r.last;
  }

  /**
   * kvm_make_all_cpus_request(kvm, KVM_REQ_APIC_PAGE_RELOAD): sets the request on every vCPU and
   * kicks them out of guest mode, waiting for the kick (KVM_REQUEST_WAIT). A vCPU enters the guest
   * again only after vcpu_enter_guest() has handled the request, so from this step on no vCPU uses
   * the APIC_ACCESS_ADDR it held.
   */
  private requestApicReload(w: World, from: string): void {
    this.apicReloadPending.fill(1);
    w.touch(this.apicPage);
    if (w.tracing) w.note(`${from}: kvm_make_all_cpus_request(KVM_REQ_APIC_PAGE_RELOAD)`);
  }

  /**
   * ->invalidate_range (kvm_mmu_notifier_invalidate_range → kvm_arch_mmu_notifier_invalidate_range,
   * e649b3f0188f, v5.8): only the APIC-access page reload, no mmu_lock, inside the caller's step
   * (under the PT lock in try_to_unmap_one's "discard:", or from range_end after the PTE changed).
   * ★ kvm.apicReload=invalidate-range; with any other choice KVM has no ->invalidate_range.
   */
  *invalidateRange(w: World, _t: SimThread, r: PageRange): Step {
    if (w.sites['kvm.apicReload'] === 'invalidate-range' && this.coversApic(r)) this.requestApicReload(w, 'kvm_arch_mmu_notifier_invalidate_range');
  }

  /** kvm_unmap_hva_range() + kvm_flush_remote_tlbs(): drop the sptes of the range. */
  private zap(w: World, r: PageRange): void {
    for (let p = r.first; p <= r.last; p++) if (this.spte.flush(p)) w.touch(p);
    if (w.tracing) w.note(`kvm_unmap_hva_range ${w.rangeText(r)}`);
  }

  /** kvm_mmu_notifier_invalidate_range_start(): lock, count++, unmap + flush, unlock. */
  *invalidateRangeStart(w: World, t: SimThread, r: PageRange): Step {
    yield this.mmuLock;
    this.mmuLock.acquire(t.id);
    t.label = 'kvm_mmu_notifier_invalidate_range_start: spin_lock(mmu_lock), count++, kvm_unmap_hva_range';
    t.page = r.first;
    this.count++;
    this.zap(w, r);
    const reload = w.sites['kvm.apicReload'];
    // v6.6 kvm_unmap_gfn_range(), run under mmu_lock by kvm_handle_hva_range(): "if (range->slot->id
    // == APIC_ACCESS_PAGE_PRIVATE_MEMSLOT) kvm_make_all_cpus_request(kvm, KVM_REQ_APIC_PAGE_RELOAD)"
    // (0a8a5f2c8c26); the vCPU's reload then honours mmu_invalidate_retry_hva() (878940b33d76).
    if (reload === 'range-start-retry' && this.coversApic(r)) this.requestApicReload(w, 'kvm_unmap_gfn_range');
    yield null;
    this.mmuLock.release(t.id);
    t.label = 'kvm_mmu_notifier_invalidate_range_start: spin_unlock(mmu_lock)';
    if (reload === 'range-start' && this.coversApic(r)) {
      // b1394e745b94 (v4.15): kvm_arch_mmu_notifier_invalidate_range() after spin_unlock(mmu_lock),
      // before the caller has changed the PTE: a vCPU can reload the old pfn (fixed by e649b3f0188f).
      yield null;
      t.label = 'kvm_mmu_notifier_invalidate_range_start: kvm_arch_mmu_notifier_invalidate_range';
      t.page = r.first;
      this.requestApicReload(w, 'kvm_arch_mmu_notifier_invalidate_range');
    }
  }

  /**
   * kvm_mmu_notifier_invalidate_range_end(): lock, seq++ (smp_wmb), count--, unlock.
   * ★ kvm.seqIncrement=after-unlock: count drops first and seq moves only after the unlock, so a
   * vCPU fault that sampled the old seq can pass mmu_notifier_retry() in between.
   */
  *invalidateRangeEnd(w: World, t: SimThread, r: PageRange): Step {
    yield this.mmuLock;
    this.mmuLock.acquire(t.id);
    t.page = r.first;
    const locked = w.sites['kvm.seqIncrement'] === 'locked';
    t.label = locked
      ? 'kvm_mmu_notifier_invalidate_range_end: spin_lock(mmu_lock), seq++, count--'
      : 'kvm_mmu_notifier_invalidate_range_end: spin_lock(mmu_lock), count--';
    if (locked) this.seq++;
    this.count--;
    yield null;
    this.mmuLock.release(t.id);
    t.label = 'kvm_mmu_notifier_invalidate_range_end: spin_unlock(mmu_lock)';
    if (!locked) {
      yield null;
      t.label = 'kvm_mmu_notifier_invalidate_range_end: seq++ (after unlock)';
      this.seq++;
    }
  }

  /** kvm_mmu_notifier_invalidate_page() (v4.12 and earlier): lock, seq++, unmap + flush, unlock. */
  *invalidatePage(w: World, t: SimThread, p: number): Step {
    yield this.mmuLock;
    this.mmuLock.acquire(t.id);
    t.label = 'kvm_mmu_notifier_invalidate_page: spin_lock(mmu_lock), seq++, kvm_unmap_hva';
    t.page = p;
    this.seq++;
    this.zap(w, { first: p, last: p });
    yield null;
    this.mmuLock.release(t.id);
    t.label = 'kvm_mmu_notifier_invalidate_page: spin_unlock(mmu_lock)';
    if (w.sites['kvm.apicReload'] === 'invalidate-page' && p === this.apicPage) {
      // v4.10/v4.11 virt/kvm/kvm_main.c: "spin_unlock(&kvm->mmu_lock); kvm_arch_mmu_notifier_invalidate_page(kvm, address);"
      // → arch/x86/kvm/x86.c: "if (address == gfn_to_hva(kvm, APIC_DEFAULT_PHYS_BASE >> PAGE_SHIFT))
      // kvm_make_all_cpus_request(kvm, KVM_REQ_APIC_PAGE_RELOAD);" — the PTE already changed.
      yield null;
      t.label = 'kvm_mmu_notifier_invalidate_page: kvm_arch_mmu_notifier_invalidate_page';
      t.page = p;
      this.requestApicReload(w, 'kvm_arch_mmu_notifier_invalidate_page');
    }
  }

  /**
   * kvm_mmu_notifier_change_pte(): lock, seq++, kvm_set_spte_hva(); x86's kvm_set_pte_rmapp() drops
   * the spte when the new PTE is writable and re-points it read-only otherwise. Both leave no spte
   * to the old frame; racefarm drops it (the vCPU refaults).
   */
  *changePte(w: World, t: SimThread, p: number): Step {
    yield this.mmuLock;
    this.mmuLock.acquire(t.id);
    t.label = 'kvm_mmu_notifier_change_pte: spin_lock(mmu_lock), seq++, kvm_set_spte_hva';
    t.page = p;
    this.seq++;
    this.zap(w, { first: p, last: p });
    yield null;
    this.mmuLock.release(t.id);
    t.label = 'kvm_mmu_notifier_change_pte: spin_unlock(mmu_lock)';
  }
}
