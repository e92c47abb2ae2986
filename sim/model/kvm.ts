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

  constructor(pages: number) {
    this.spte = new TranslationCache('kvm.spte', pages, 'kvm');
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
    yield null;
    this.mmuLock.release(t.id);
    t.label = 'kvm_mmu_notifier_invalidate_range_start: spin_unlock(mmu_lock)';
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
