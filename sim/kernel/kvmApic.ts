import type { World } from '../world.ts';
import type { SimThread } from '../thread.ts';
import type { Gate } from '../model/gate.ts';
import type { AccessOp } from './access.ts';
import { touchFrame } from './access.ts';
import type { TranslationCache } from '../model/translationCache.ts';
import { getUserPage } from './kvmFault.ts';

/**
 * KVM's APIC-access page (arch/x86/kvm/vmx.c, vmx/vmx.c in v6.6). KVM backs the guest-physical page
 * APIC_DEFAULT_PHYS_BASE with a private memslot (APIC_ACCESS_PAGE_PRIVATE_MEMSLOT, vm_mmap'ed
 * MAP_SHARED|MAP_ANONYMOUS by __x86_set_memory_region) and writes the page's host-physical address
 * into each vCPU's VMCS field APIC_ACCESS_ADDR. The processor treats a guest access whose EPT
 * translation *equals* APIC_ACCESS_ADDR as an APIC access (virtualized or trapped); any other
 * translation is plain memory. The page is not pinned: when it is unmapped or migrated the mmu_notifier
 * must make every vCPU reload the field (KVM_REQ_APIC_PAGE_RELOAD) — ★ kvm.apicReload says from where.
 *
 * The cells of an apicAccess page stand for the vCPU's APIC registers: a read returns what the
 * guest last wrote to them. When the field and the EPT disagree, the access reaches raw memory
 * instead ("the processor will not trap APIC accesses, and will instead show the raw contents of the
 * APIC-access page", e649b3f0188f), and the data oracles see the guest read something it never wrote.
 */

/**
 * vcpu_enter_guest(): kvm_check_request(KVM_REQ_APIC_PAGE_RELOAD) → kvm_vcpu_reload_apic_access_page()
 * → vmx_set_apic_access_page_addr(). Runs while the request is pending, before the next guest entry.
 *
 *   v4.10–v5.x:  page = gfn_to_page(kvm, APIC_DEFAULT_PHYS_BASE >> PAGE_SHIFT);   (GUP, write fault)
 *                vmcs_write64(APIC_ACCESS_ADDR, page_to_phys(page)); put_page(page);
 *   v6.6 (878940b33d76): mmu_seq = kvm->mmu_invalidate_seq; smp_rmb(); pfn = gfn_to_pfn_memslot();
 *                read_lock(mmu_lock); if (mmu_invalidate_retry_hva(kvm, mmu_seq, hva)) {
 *                kvm_make_request(KVM_REQ_APIC_PAGE_RELOAD, vcpu); goto out; } vmcs_write64(); …
 *                kvm_release_pfn_clean(pfn)
 * Returns a gate to wait on before retrying (the invalidation in progress), or null.
 */
export function* reloadApicAccessPage(w: World, t: SimThread): Generator<Gate | null, Gate | null, void> {
  const kvm = w.kvm!;
  const v = t.unit;
  const p = kvm.apicPage;
  const vmcs = kvm.vmcs[v];
  const retryCheck = w.sites['kvm.apicReload'] === 'range-start-retry';
  // The step that cleared the request (kvm_check_request) was the caller's.
  const mmuSeq = kvm.seq;
  if (retryCheck && w.tracing) w.note(`mmu_seq = ${mmuSeq}`);
  const f = yield* getUserPage(w, t, p, true); // gfn_to_page → __gfn_to_pfn_memslot(write_fault = true)
  if (f < 0) {
    // is_error_page(page): the field keeps its value; the vCPU enters the guest without reloading.
    if (w.tracing) w.note(`gfn_to_page(${w.pageName(p)}) failed`);
    return null;
  }
  let gate: Gate | null = null;
  if (retryCheck) {
    yield kvm.mmuLock;
    kvm.mmuLock.acquire(t.id);
    t.label = 'vmx_set_apic_access_page_addr: read_lock(mmu_lock)';
    t.page = p;
    yield null;
    t.page = p;
    // mmu_invalidate_retry_hva(): in_progress with the hva in the invalidated range, or seq moved.
    // racefarm keeps no range, so any invalidation in progress counts: that only adds retries.
    if (kvm.count !== 0 || kvm.seq !== mmuSeq) {
      t.label = 'vmx_set_apic_access_page_addr: mmu_invalidate_retry_hva, kvm_make_request(KVM_REQ_APIC_PAGE_RELOAD)';
      kvm.apicReloadPending[v] = 1;
      if (w.tracing) w.note(`count ${kvm.count}, seq ${kvm.seq} vs mmu_seq ${mmuSeq}: reload again`);
      if (kvm.count !== 0) gate = { isOpen: () => kvm.count === 0 };
    } else {
      t.label = 'vmx_set_apic_access_page_addr: vmcs_write64(APIC_ACCESS_ADDR), read_unlock(mmu_lock)';
      writeField(w, vmcs, p, f);
    }
    kvm.mmuLock.release(t.id);
  } else {
    yield null;
    t.label = 'vmx_set_apic_access_page_addr: vmcs_write64(APIC_ACCESS_ADDR, page_to_phys(page))';
    t.page = p;
    writeField(w, vmcs, p, f);
  }
  yield null;
  t.label = retryCheck ? 'vmx_set_apic_access_page_addr: kvm_release_pfn_clean' : 'vmx_set_apic_access_page_addr: put_page';
  t.page = p;
  // "Do not pin apic access page in memory, the MMU notifier will call us again if it is migrated or swapped out."
  w.frames.put(f);
  return gate;
}

function writeField(w: World, vmcs: TranslationCache, p: number, f: number): void {
  vmcs.fill(p, f, w.frames.gen[f], false);
  w.touch(p);
  if (w.tracing) w.note(`${vmcs.name} = frame ${f}`);
}

/**
 * The guest access itself, once the EPT translated the guest-physical page to frame `f` (through
 * `via`/`cache`): an APIC access if `f` is this vCPU's APIC_ACCESS_ADDR (the processor compares
 * host-physical addresses only), plain memory otherwise. Without an APIC-access page in the
 * scenario this is touchFrame().
 */
export function guestAccess(w: World, t: SimThread, op: AccessOp, f: number, via: string, cache: TranslationCache | null): void {
  const kvm = w.kvm!;
  const apic = kvm.apicPage;
  if (apic < 0) {
    touchFrame(w, t, op, f, via, cache);
    return;
  }
  const vmcs = kvm.vmcs[t.unit];
  const field = vmcs.valid[apic] === 1 ? vmcs.frame[apic] : -1;
  const p = op.page;
  if (f === field) {
    // The APIC access: the guest reads and writes the local APIC, not the frame.
    const i = t.unit * w.cellsPerPage + op.cell;
    const what = `APIC access (EPT → frame ${f} = ${vmcs.name})`;
    if (op.kind === 'write') {
      kvm.apicRegs[i] = op.value;
      w.oracles.onWrite(p, op.cell, op.value, null, f);
      if (w.tracing) w.note(`${w.pageName(p)}[${op.cell}] := ${op.value}: ${what}`);
    } else {
      const value = kvm.apicRegs[i];
      w.oracles.onRead(p, op.cell, value, what, p === apic ? null : vmcs, f);
      if (w.tracing) w.note(`${w.pageName(p)}[${op.cell}] = ${value}: ${what}`);
    }
    return;
  }
  if (p !== apic) {
    touchFrame(w, t, op, f, via, cache);
    return;
  }
  // The EPT maps the APIC page to a frame the VMCS does not name: no APIC access, raw memory. The
  // stale party is the VMCS field (the step that unmapped the frame it names is the race).
  const what = `${via} → frame ${f}, but ${vmcs.name} = ${field < 0 ? 'none' : `frame ${field}`}: raw memory, not an APIC access`;
  if (op.kind === 'write') {
    w.frames.write(f, op.cell, op.value);
    w.oracles.onWrite(p, op.cell, op.value, field < 0 ? cache : vmcs, field < 0 ? f : field);
    if (w.tracing) w.note(`${w.pageName(p)}[${op.cell}] := ${op.value}: ${what}`);
  } else {
    const value = w.frames.read(f, op.cell);
    w.oracles.onRead(p, op.cell, value, what, field < 0 ? cache : vmcs, field < 0 ? f : field);
    if (w.tracing) w.note(`${w.pageName(p)}[${op.cell}] = ${value}: ${what}`);
  }
}
