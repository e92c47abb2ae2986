import type { World } from '../world.ts';
import type { SimThread, Step } from '../thread.ts';
import type { Gate } from '../model/gate.ts';
import { PteKind } from '../model/pageTable.ts';
import { lockPtl, unlockPtl, unlockPtlNow } from './ptl.ts';
import { changePte, invalidateRange, rangeEnd, rangeStart, single } from './notify.ts';

/** How a fault ended: resolved or to be retried by the caller, or refused by access_error(). */
export const enum FaultResult {
  Retry = 0,
  SigSegv = 1,
}

/**
 * handle_mm_fault() (mm/memory.c, v4.13 structure) for an anonymous private or a shared file page,
 * preceded by the access_error() check every caller makes on the vma (the page-fault handler, the
 * IOMMU fault worker, get_user_pages). The caller holds mmap_sem for read. On Retry the caller
 * re-runs the access, as the hardware re-executes the faulting instruction.
 */
export function* handleMmFault(w: World, t: SimThread, p: number, write: boolean): Generator<Gate | null, FaultResult, void> {
  // handle_pte_fault(): vmf->orig_pte is read without the PT lock.
  yield null;
  t.label = 'handle_pte_fault';
  t.page = p;
  if (write && w.vmaWrite[p] === 0) {
    t.label = 'access_error: write to a read-only vma (SIGSEGV)';
    return FaultResult.SigSegv;
  }
  const kind = w.pt.kind[p] as PteKind;
  const orig = w.pt.snapshot(p);
  if (w.tracing) w.note(`orig_pte = ${w.pteText(p)}`);
  if (kind === PteKind.None) {
    if (w.isFile[p] === 1) yield* doFileFault(w, t, p, write);
    else yield* doAnonymousPage(w, t, p, write);
    return FaultResult.Retry;
  }
  if (kind === PteKind.Swap) {
    yield* doSwapPage(w, t, p, write, orig);
    return FaultResult.Retry;
  }
  if (kind === PteKind.Migration) {
    // do_swap_page() → migration_entry_wait(): sleep until the migration removed its entries.
    yield { isOpen: () => w.pt.kind[p] !== PteKind.Migration };
    t.label = 'migration_entry_wait: woken';
    t.page = p;
    return FaultResult.Retry;
  }
  yield* lockPtl(w, t, p, 'handle_pte_fault: spin_lock(ptl)');
  if (w.pt.snapshot(p) !== orig) {
    yield* unlockPtl(w, t, p, 'handle_pte_fault: !pte_same, pte_unmap_unlock');
    return FaultResult.Retry;
  }
  if (write && w.pt.write[p] === 0) {
    if (w.isFile[p] === 1) yield* wpPageShared(w, t, p, orig);
    else yield* doWpPage(w, t, p, orig);
    return FaultResult.Retry;
  }
  // A spurious fault: the PTE already allows the access; record accessed/dirty like the hardware would.
  yield null;
  t.label = 'ptep_set_access_flags';
  w.pt.young[p] = 1;
  if (write) {
    w.pt.dirty[p] = 1;
    w.pt.softDirty[p] = 1; // pte_mkdirty() sets _PAGE_SOFT_DIRTY on x86
    w.touch(p);
    yield* notifyUpgrade(w, t, p);
  }
  yield* unlockPtl(w, t, p);
  return FaultResult.Retry;
}

/**
 * ★ iommu.notifyOnUpgrade: v6.6 arm64 __ptep_set_access_flags() (arch/arm64/mm/fault.c)
 * "Invalidate a stale read-only entry: if (dirty) flush_tlb_page(vma, address);" →
 * __flush_tlb_page_nosync() → mmu_notifier_arch_invalidate_secondary_tlbs() (arch/arm64/include/
 * asm/tlbflush.h). x86's ptep_set_access_flags() (arch/x86/mm/pgtable.c) only does set_pte(): no
 * TLB flush, so no secondary flush either. racefarm's world is arm64 exactly when its IOMMU is
 * arm-smmu-v3 (amd-v2 and intel-svm are x86, KVM here is x86). Before v6.6 no secondary TLB hears
 * of a read-only → writable upgrade on any architecture.
 */
function* notifyUpgrade(w: World, t: SimThread, p: number): Step {
  const choice = w.sites['iommu.notifyOnUpgrade'];
  if (choice === 'true' || (choice === 'arm64' && w.scenario.world.iommu === 'arm-smmu-v3')) yield* invalidateRange(w, t, single(p));
}

/**
 * do_read_fault() / do_shared_fault() for a shared file mapping: __do_fault() → filemap_fault()
 * finds the page in the page cache or reads it (returned locked); a write runs do_page_mkwrite()
 * (set_page_dirty); alloc_set_pte() maps it under the PT lock — read-only on a read fault, as
 * write-notify wants.
 */
function* doFileFault(w: World, t: SimThread, p: number, write: boolean): Step {
  const frames = w.frames;
  yield null;
  t.label = 'filemap_fault: find_get_page';
  t.page = p;
  let f = w.backing.swapCache[p];
  if (f >= 0) {
    frames.refcount[f]++;
  } else {
    t.label = 'filemap_fault: page_cache_read';
    f = w.allocFrame(p);
    w.backing.readIntoFrame(p, frames.cells, f);
    w.backing.swapCache[p] = f;
    frames.refcount[f]++; // the page cache's reference
    if (w.tracing) w.note(`read ${w.pageName(p)} from the file into frame ${f}`);
  }
  yield pageLockGate(w, f);
  t.label = write ? 'filemap_fault: lock_page; do_page_mkwrite: set_page_dirty' : 'filemap_fault: lock_page';
  frames.lockOwner[f] = t.id;
  if (w.backing.swapCache[p] !== f) {
    frames.lockOwner[f] = -1;
    frames.put(f);
    if (w.tracing) w.note('page left the page cache: retry');
    return;
  }
  if (write) frames.dirty[f] = 1;
  yield* lockPtl(w, t, p, 'finish_fault: pte_offset_map_lock');
  yield null;
  if (w.pt.kind[p] !== PteKind.None) {
    t.label = 'alloc_set_pte: !pte_none, release';
    unlockPtlNow(w, t, p);
    frames.lockOwner[f] = -1;
    frames.put(f);
    return;
  }
  t.label = 'alloc_set_pte: page_add_file_rmap + set_pte_at';
  frames.mapcount[f]++;
  w.pt.setPresent(p, f, write, write, write);
  frames.lockOwner[f] = -1;
  w.touch(p);
  if (w.tracing) w.note(`${w.pageName(p)}: none → ${w.pteText(p)}`);
  yield* unlockPtl(w, t, p);
}

/**
 * wp_page_shared(): a write to a read-only PTE of a shared file page (write-notify after writeback
 * cleaned it): get_page, drop the PT lock, do_page_mkwrite (lock_page, set_page_dirty), retake the
 * lock, pte_same, then wp_page_reuse() makes it writable in place and fault_dirty_shared_page().
 */
function* wpPageShared(w: World, t: SimThread, p: number, orig: number): Step {
  const frames = w.frames;
  const f = w.pt.frame[p];
  yield null;
  yield* dropPtlAndLockPage(w, t, p, f, 'wp_page_shared: get_page + pte_unmap_unlock', 'do_page_mkwrite: lock_page + set_page_dirty');
  frames.dirty[f] = 1;
  yield* lockPtl(w, t, p, 'wp_page_shared: pte_offset_map_lock');
  yield null;
  t.page = p;
  if (w.pt.snapshot(p) !== orig) {
    t.label = 'wp_page_shared: !pte_same, unlock';
    unlockPtlNow(w, t, p);
  } else {
    t.label = 'wp_page_reuse: ptep_set_access_flags';
    w.pt.write[p] = 1;
    w.pt.dirty[p] = 1;
    w.pt.young[p] = 1;
    w.pt.softDirty[p] = 1;
    w.touch(p);
    if (w.tracing) w.note(`${w.pageName(p)}: read-only → ${w.pteText(p)}`);
    yield* notifyUpgrade(w, t, p);
    yield* unlockPtl(w, t, p);
  }
  yield null;
  t.label = 'fault_dirty_shared_page: unlock_page + put_page';
  frames.lockOwner[f] = -1;
  frames.put(f);
}

/** do_anonymous_page(): a read maps the zero page, a write allocates a zeroed page. */
function* doAnonymousPage(w: World, t: SimThread, p: number, write: boolean): Step {
  const frames = w.frames;
  let f = w.zeroFrame;
  if (write) {
    yield null;
    t.label = 'do_anonymous_page: alloc_zeroed_user_highpage_movable';
    f = w.allocFrame(p);
    frames.zero(f);
    if (w.tracing) w.note(`frame ${f}`);
  }
  yield* lockPtl(w, t, p, 'do_anonymous_page: pte_offset_map_lock');
  if (w.pt.kind[p] !== PteKind.None) {
    yield null;
    t.label = 'do_anonymous_page: !pte_none, release';
    unlockPtlNow(w, t, p);
    if (write) frames.put(f);
    return;
  }
  yield null;
  t.label = write ? 'do_anonymous_page: page_add_new_anon_rmap + set_pte_at' : 'do_anonymous_page: set_pte_at(zero page)';
  if (write) {
    frames.mapcount[f] = 1;
    w.pt.setPresent(p, f, true, true, true);
  } else {
    w.pt.setPresent(p, f, false, false, false);
  }
  w.touch(p);
  if (w.tracing) w.note(`${w.pageName(p)}: none → ${w.pteText(p)}`);
  yield* unlockPtl(w, t, p);
}

/** lock_page() waits for PG_locked; the gate is created once per frame lock wait. */
function pageLockGate(w: World, f: number) {
  return { isOpen: () => w.frames.lockOwner[f] === -1 };
}

/**
 * do_swap_page(): find the page in the swap cache (reclaim may still hold it there) or read it
 * back from the slot, lock it, and map it under the PT lock if the PTE did not change meanwhile.
 */
function* doSwapPage(w: World, t: SimThread, p: number, write: boolean, orig: number): Step {
  const frames = w.frames;
  const backing = w.backing;
  const swapSoftDirty = w.pt.softDirty[p] === 1;
  yield null;
  t.label = 'do_swap_page: lookup_swap_cache';
  if (w.pt.snapshot(p) !== orig) {
    // Another fault consumed and freed the swap entry: __read_swap_cache_async()'s
    // swapcache_prepare() fails, do_swap_page() backs out and the access retries.
    if (w.tracing) w.note('swap entry gone: retry');
    return;
  }
  let f = backing.swapCache[p];
  if (f >= 0) {
    frames.refcount[f]++;
    if (w.tracing) w.note(`swap cache hit: frame ${f}`);
  } else {
    // swapin_readahead() → __read_swap_cache_async(): new page in the swap cache, read synchronously.
    t.label = 'do_swap_page: swapin_readahead';
    f = w.allocFrame(p);
    backing.readIntoFrame(p, frames.cells, f);
    backing.swapCache[p] = f;
    frames.refcount[f]++; // the swap cache's reference
    if (w.tracing) w.note(`read slot ${w.pageName(p)} into frame ${f}`);
  }
  yield pageLockGate(w, f);
  t.label = 'do_swap_page: lock_page';
  frames.lockOwner[f] = t.id;
  if (backing.swapCache[p] !== f) {
    // Reclaim finished with the page while we slept: "goto out_page", the access retries.
    frames.lockOwner[f] = -1;
    frames.put(f);
    if (w.tracing) w.note('page left the swap cache: retry');
    return;
  }
  yield* lockPtl(w, t, p, 'do_swap_page: pte_offset_map_lock');
  if (w.pt.snapshot(p) !== orig) {
    yield null;
    t.label = 'do_swap_page: !pte_same, out_nomap';
    unlockPtlNow(w, t, p);
    frames.lockOwner[f] = -1;
    frames.put(f);
    return;
  }
  yield null;
  t.label = 'do_swap_page: page_add_anon_rmap + set_pte_at + swap_free';
  frames.mapcount[f]++;
  // reuse_swap_page(): exclusive when no other mm maps it; then the swap copy is dropped and the page
  // dirtied. "if (unlikely(PageKsm(page))) return false;" (mm/swapfile.c): a KSM page found in the
  // swap cache is mapped read-only and a write copies it (MB-3 in docs/explore.md, program 48663).
  const exclusive = frames.mapcount[f] === 1 && frames.ksm[f] === 0;
  if (write && exclusive) {
    w.pt.setPresent(p, f, true, true, true);
    backing.swapCache[p] = -1; // delete_from_swap_cache()
    frames.refcount[f]--;
    frames.dirty[f] = 1;
  } else {
    w.pt.setPresent(p, f, false, false, swapSoftDirty);
  }
  frames.lockOwner[f] = -1; // unlock_page()
  w.touch(p);
  if (w.tracing) w.note(`${w.pageName(p)}: swap → ${w.pteText(p)}`);
  if (write && !exclusive) {
    // "if (vmf->flags & FAULT_FLAG_WRITE) ret |= do_wp_page(vmf)", still under the PT lock.
    yield* doWpPage(w, t, p, w.pt.snapshot(p));
    return;
  }
  yield* unlockPtl(w, t, p);
}

/**
 * get_page(), pte_unmap_unlock(), lock_page(): the kernel's way to sleep on PG_locked from inside a
 * PT-lock section (do_wp_page's !trylock_page path, wp_page_shared's do_page_mkwrite). It drops the
 * lock in the caller's current step, then takes the page lock in a step of its own once it is free.
 * The caller retakes the PT lock.
 */
function* dropPtlAndLockPage(w: World, t: SimThread, p: number, f: number, dropLabel: string, lockLabel: string): Step {
  t.page = p;
  t.label = dropLabel;
  w.frames.refcount[f]++;
  unlockPtlNow(w, t, p);
  yield pageLockGate(w, f);
  t.label = lockLabel;
  w.frames.lockOwner[f] = t.id;
}

/**
 * do_wp_page(), entered with the PT lock held on a present read-only PTE for a write fault. An
 * exclusive anonymous page is reused in place (wp_page_reuse) under trylock_page(); a shared page,
 * a KSM page or the zero page is copied. The trylock and the reuse decision are one step, as they
 * are one PT-lock section in the kernel.
 */
function* doWpPage(w: World, t: SimThread, p: number, orig: number): Step {
  const frames = w.frames;
  const old = w.pt.frame[p];
  // One step decides and acts: trylock_page() fails (sleep on it) or succeeds (reuse or copy now).
  yield null;
  t.page = p;
  // "if (PageAnon(vmf->page) && !PageKsm(vmf->page))": only an ordinary anonymous page is locked
  // and considered for reuse; a KSM page (or the zero page) goes straight to wp_page_copy.
  const anon = old !== w.zeroFrame && frames.ksm[old] === 0;
  if (anon && frames.lockOwner[old] !== -1) {
    // !trylock_page(): get_page, drop the PT lock, lock_page, retake the PT lock, recheck pte_same.
    yield* dropPtlAndLockPage(w, t, p, old, 'do_wp_page: trylock_page failed, get_page + pte_unmap_unlock', 'do_wp_page: lock_page');
    yield* lockPtl(w, t, p, 'do_wp_page: pte_offset_map_lock');
    yield null;
    t.page = p;
    if (w.pt.snapshot(p) !== orig) {
      t.label = 'do_wp_page: !pte_same, unlock_page + put_page';
      unlockPtlNow(w, t, p);
      frames.lockOwner[old] = -1;
      frames.put(old);
      return;
    }
    frames.put(old);
  } else if (anon) {
    frames.lockOwner[old] = t.id; // trylock_page() succeeded
  }
  // reuse_swap_page() (4.13 mm/swapfile.c) refuses a page that became PageKsm while we slept in
  // lock_page(): ksmd's try_to_merge_one_page() sets it before its unlock_page().
  if (anon && frames.mapcount[old] === 1 && frames.ksm[old] === 0) {
    t.label = 'wp_page_reuse: ptep_set_access_flags';
    if (w.backing.swapCache[p] === old) {
      // reuse_swap_page(): the only user drops the swap copy, the page becomes dirty.
      w.backing.swapCache[p] = -1;
      frames.refcount[old]--;
      frames.dirty[old] = 1;
    }
    frames.lockOwner[old] = -1;
    w.pt.write[p] = 1;
    w.pt.dirty[p] = 1;
    w.pt.young[p] = 1;
    w.pt.softDirty[p] = 1;
    w.touch(p);
    yield* notifyUpgrade(w, t, p);
    if (w.tracing) w.note(`${w.pageName(p)}: read-only → ${w.pteText(p)}`);
    yield* unlockPtl(w, t, p);
    return;
  }
  t.label = 'do_wp_page: get_page + pte_unmap_unlock';
  if (old !== w.zeroFrame) {
    if (frames.lockOwner[old] === t.id) frames.lockOwner[old] = -1; // unlock_page() if we locked it
    frames.refcount[old]++;
  }
  unlockPtlNow(w, t, p);
  yield* wpPageCopy(w, t, p, orig, old);
}

/**
 * wp_page_copy() (mm/memory.c): the COW path of the Documentation/mm/mmu_notifier.rst example (Documentation/vm/ in older kernels).
 * The ★ sites are cow.clearPte (ptep_clear_flush_notify vs ptep_clear_flush) and cow.rangeEnd.
 */
function* wpPageCopy(w: World, t: SimThread, p: number, orig: number, old: number): Step {
  const frames = w.frames;
  yield null;
  t.label = old === w.zeroFrame ? 'wp_page_copy: alloc_zeroed_user_highpage_movable' : 'wp_page_copy: alloc_page + cow_user_page';
  t.page = p;
  const nf = w.allocFrame(p);
  if (old === w.zeroFrame) frames.zero(nf);
  else frames.copy(old, nf);
  if (w.tracing) w.note(`new frame ${nf} (copy of ${old})`);

  yield* rangeStart(w, t, single(p));
  yield* lockPtl(w, t, p, 'wp_page_copy: pte_offset_map_lock');
  const onlyEnd = w.sites['cow.rangeEnd'] === 'only-end';
  if (w.pt.snapshot(p) !== orig) {
    // Somebody else resolved the fault: drop the new page.
    yield* unlockPtl(w, t, p, 'wp_page_copy: !pte_same, pte_unmap_unlock');
    yield* rangeEnd(w, t, single(p), onlyEnd);
    yield null;
    t.label = 'wp_page_copy: put_page(new_page) + put_page(old_page)';
    frames.put(nf);
    if (old !== w.zeroFrame) frames.put(old);
    return;
  }
  yield null;
  t.page = p;
  if (w.sites['cow.clearPte'] === 'clear-flush-notify') {
    t.label = 'ptep_clear_flush_notify';
    w.pt.clear(p);
    w.flushCpuTlbs(single(p));
    yield* invalidateRange(w, t, single(p));
  } else {
    t.label = 'ptep_clear_flush';
    w.pt.clear(p);
    w.flushCpuTlbs(single(p));
  }
  w.touch(p);
  if (w.tracing) w.note(`${w.pageName(p)}: frame ${old} → none`);

  yield null;
  t.label = 'set_pte_at_notify + page_remove_rmap(old_page)';
  frames.mapcount[nf] = 1; // page_add_new_anon_rmap
  w.pt.setPresent(p, nf, true, true, true);
  if (old !== w.zeroFrame) frames.mapcount[old]--;
  w.touch(p);
  if (w.tracing) w.note(`${w.pageName(p)}: none → ${w.pteText(p)}`);
  yield* changePte(w, t, p);

  yield* unlockPtl(w, t, p);
  yield* rangeEnd(w, t, single(p), onlyEnd);
  if (old !== w.zeroFrame) {
    yield null;
    t.label = 'wp_page_copy: put_page(old_page) ×2';
    t.page = p;
    // One reference for the mapping just removed, one taken by do_wp_page.
    frames.put(old);
    if (frames.put(old) && w.tracing) w.note(`frame ${old} freed`);
  }
}
