import type { World } from '../world.ts';
import type { SimThread, Step } from '../thread.ts';
import type { AccessOp } from './access.ts';
import { guestAccess, reloadApicAccessPage } from './kvmApic.ts';
import { PteKind } from '../model/pageTable.ts';
import { lockPtl, unlockPtlNow } from './ptl.ts';
import { FaultResult, handleMmFault } from './fault.ts';
import type { Gate } from '../model/gate.ts';

/**
 * get_user_pages() for one page (mm/gup.c): down_read(mmap_sem); follow_page_pte() takes a
 * reference on the mapped page under the PT lock, or faultin_page() → handle_mm_fault() and
 * retry; up_read. Returns the frame, with a reference the caller must put.
 */
export function* getUserPage(w: World, t: SimThread, p: number, write: boolean): Generator<Gate | null, number, void> {
  yield w.mmapSem.readGate;
  t.label = 'get_user_pages: down_read(mmap_sem)';
  t.page = p;
  w.mmapSem.downRead();
  let f = -1;
  for (;;) {
    yield* lockPtl(w, t, p, 'follow_page_pte: pte_offset_map_lock');
    yield null;
    t.page = p;
    if (w.pt.kind[p] === PteKind.Present && (!write || w.pt.write[p] === 1)) {
      f = w.pt.frame[p];
      w.frames.refcount[f]++; // get_page()
      if (write) w.pt.dirty[p] = 1; // FOLL_WRITE: mark_page_accessed + the PTE is already dirty-able
      t.label = 'follow_page_pte: get_page + pte_unmap_unlock';
      unlockPtlNow(w, t, p);
      if (w.tracing) w.note(`frame ${f} pinned`);
      break;
    }
    t.label = 'follow_page_pte: no page, pte_unmap_unlock';
    unlockPtlNow(w, t, p);
    if ((yield* handleMmFault(w, t, p, write)) === FaultResult.SigSegv) break; // faultin_page(): -EFAULT
  }
  yield null;
  t.label = f < 0 ? 'get_user_pages: up_read(mmap_sem), -EFAULT' : 'get_user_pages: up_read(mmap_sem)';
  w.mmapSem.upRead();
  return f;
}

/**
 * A vCPU access to guest memory backed by host page P: an spte hit accesses the frame; otherwise
 * the EPT-violation path (arch/x86/kvm/mmu.c tdp_page_fault, v4.13):
 *   mmu_seq = kvm->mmu_notifier_seq; smp_rmb();
 *   pfn = gfn_to_pfn (get_user_pages: takes a reference)
 *   spin_lock(&kvm->mmu_lock);
 *   if (mmu_notifier_retry(kvm, mmu_seq)) goto out_unlock;   ★ kvm.retryCheck
 *   __direct_map(): install the spte
 *   spin_unlock(&kvm->mmu_lock); kvm_release_pfn_clean(pfn)
 */
export function* vcpuAccess(w: World, t: SimThread, op: AccessOp): Step {
  const kvm = w.kvm!;
  const p = op.page;
  const write = op.kind === 'write';
  // After a retry caused by an invalidation in progress, the vCPU re-enters the guest and faults
  // again at once, spinning until mmu_notifier_count drops: a busy-wait, modelled as a wait on that
  // condition so that a strict-priority schedule (PCT) cannot livelock on it.
  const invalidationDone: Gate = { isOpen: () => kvm.count === 0 };
  let gate: Gate | null = null;
  for (;;) {
    yield gate;
    gate = null;
    if (kvm.apicPage >= 0 && kvm.apicReloadPending[t.unit] === 1) {
      // vcpu_enter_guest(): requests are handled before the guest runs again (a request made while
      // the guest ran kicked it out first), so this vCPU's next access waits for the reload.
      t.label = 'vcpu_enter_guest: kvm_check_request(KVM_REQ_APIC_PAGE_RELOAD)';
      t.page = kvm.apicPage;
      kvm.apicReloadPending[t.unit] = 0;
      gate = yield* reloadApicAccessPage(w, t);
      continue;
    }
    t.label = write ? 'vcpu store' : 'vcpu load';
    t.page = p;
    if (kvm.spte.valid[p] === 1 && (!write || kvm.spte.write[p] === 1)) {
      w.oracles.checkCachedAccess(kvm.spte, p, write);
      guestAccess(w, t, op, kvm.spte.frame[p], kvm.spte.name, kvm.spte);
      return;
    }
    t.label = write ? 'vcpu store: EPT violation, tdp_page_fault: mmu_seq = mmu_notifier_seq' : 'vcpu load: EPT violation, tdp_page_fault: mmu_seq = mmu_notifier_seq';
    const mmuSeq = kvm.seq;
    if (w.tracing) w.note(`mmu_seq = ${mmuSeq}`);
    const f = yield* getUserPage(w, t, p, write);
    if (f < 0) {
      // gfn_to_pfn failed (KVM_PFN_ERR_FAULT): the access is abandoned (the guest would get an MMIO exit).
      if (w.tracing) w.note(`get_user_pages(${w.pageName(p)}) failed: -EFAULT`);
      return;
    }
    yield kvm.mmuLock;
    kvm.mmuLock.acquire(t.id);
    t.label = 'tdp_page_fault: spin_lock(mmu_lock)';
    t.page = p;
    yield null;
    t.page = p;
    const retry = kvm.count !== 0 || kvm.seq !== mmuSeq;
    if (w.sites['kvm.retryCheck'] === 'true' && retry) {
      t.label = 'mmu_notifier_retry: invalidation raced, drop';
      if (w.tracing) w.note(`count ${kvm.count}, seq ${kvm.seq} vs mmu_seq ${mmuSeq}`);
      if (kvm.count !== 0) gate = invalidationDone;
    } else {
      t.label = '__direct_map: install spte';
      kvm.spte.fill(p, f, w.frames.gen[f], write);
      w.touch(p);
      if (w.tracing) w.note(`spte ${w.pageName(p)} → frame ${f}${write ? ' rw' : ' ro'}${retry ? ' (stale: an invalidation raced)' : ''}`);
    }
    yield null;
    t.label = 'tdp_page_fault: spin_unlock(mmu_lock) + kvm_release_pfn_clean';
    kvm.mmuLock.release(t.id);
    w.frames.put(f);
  }
}
