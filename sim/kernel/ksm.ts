import type { World } from '../world.ts';
import type { SimThread, Step } from '../thread.ts';
import type { Gate } from '../model/gate.ts';
import { PteKind } from '../model/pageTable.ts';
import { lockPtl, unlockPtl } from './ptl.ts';
import { changePte, invalidateRange, rangeEnd, rangeStart, single } from './notify.ts';
import { FaultResult, handleMmFault } from './fault.ts';

/**
 * ksmd merging the anonymous pages at P and Q (mm/ksm.c, v4.10–v6.6 share this structure):
 * ksm_do_scan → cmp_and_merge_page(page = P's page) → unstable_tree_search_insert finds Q's page
 * (tree_page, memcmp_pages equal) → try_to_merge_two_pages():
 *   1. try_to_merge_with_ksm_page(P, NULL): under down_read(mmap_sem), try_to_merge_one_page()
 *      trylocks P's page, write_protect_page()s it and, still under the page lock,
 *      set_page_stable_node(page, NULL) makes it PageKsm (and SetPageDirty) before unlock_page.
 *      From then on do_wp_page() never reuses it ("PageAnon && !PageKsm"), and a write fault that
 *      slept in lock_page() meanwhile finds it KSM in reuse_swap_page() — either way it copies.
 *   2. try_to_merge_with_ksm_page(Q, kpage): trylock Q's page, write_protect_page, pages_identical,
 *      replace_page() points Q's PTE at kpage, unlock.
 *   3. if 2 failed: break_cow(P) — "we have a ksm page with only one pte pointing to it: so break
 *      it": break_ksm() write-faults P (handle_mm_fault(FAULT_FLAG_WRITE)) until P no longer maps
 *      a KSM page.
 * Then put_page(tree_page), stable_tree_insert under lock_page(kpage), and ksm_do_scan's
 * put_page(page); Q's old page is freed there.
 *
 * ★ ksm.writeProtect: write_protect_page() uses ptep_clear_flush_notify (v4.13) · plain
 *   ptep_clear_flush with the flush from its range_end (v4.15: "No need to notify as we are
 *   downgrading page table protection") · `after-compare`: the secondary flush only after
 *   pages_identical(), so a device can still write Q after the comparison.
 * ★ ksm.replace: replace_page() uses ptep_clear_flush_notify (v4.13) or only range_end (v4.15).
 *
 * The scan's own bookkeeping (checksums over two passes, the rmap_item trees) is not modelled: the
 * model merges as if P's checksum had been stable since the previous pass.
 */
export function* ksmMerge(w: World, t: SimThread, p: number, q: number): Step {
  const frames = w.frames;
  // scan_get_next_rmap_item() and get_mergeable_page(): follow_page(FOLL_GET) of each address under
  // down_read(mmap_sem), PageAnon only (a VM_MERGEABLE vma is private: shared file pages never are).
  // unstable_tree_search_insert() then compares the two pages with memcmp_pages(), no lock held.
  yield w.mmapSem.readGate;
  t.label = 'cmp_and_merge_page: follow_page(P, Q) + unstable_tree_search_insert: memcmp_pages';
  t.page = q;
  const mergeable = (x: number) =>
    w.pt.kind[x] === PteKind.Present && w.pt.frame[x] !== w.zeroFrame && w.isFile[x] === 0 ? w.pt.frame[x] : -1;
  const page = mergeable(p);
  const treePage = mergeable(q);
  if (page < 0 || treePage < 0 || page === treePage || frames.ksm[page] === 1 || frames.ksm[treePage] === 1 || !identical(w, page, treePage)) {
    // An already-KSM page would go through stable_tree_search / try_to_merge_with_ksm_page(),
    // which this op does not model; it merges two ordinary anonymous pages only.
    if (w.tracing) w.note('nothing to merge');
    return;
  }
  frames.refcount[page]++;
  frames.refcount[treePage]++;
  if (w.tracing) w.note(`frames ${page} and ${treePage} identical`);

  // try_to_merge_two_pages()
  let merged = false;
  if (yield* tryToMergeWithKsmPage(w, t, p, page, -1, -1)) {
    merged = yield* tryToMergeWithKsmPage(w, t, q, treePage, page, p);
    if (!merged) yield* breakCow(w, t, p);
  }
  yield null;
  t.label = 'cmp_and_merge_page: put_page(tree_page)';
  t.page = q;
  if (frames.put(treePage) && w.tracing) w.note(`frame ${treePage} freed`);
  if (merged) {
    // lock_page(kpage); stable_tree_insert(); stable_tree_append() ×2; unlock_page(kpage).
    yield pageLockGate(w, page);
    t.label = 'cmp_and_merge_page: lock_page(kpage) + stable_tree_insert + unlock_page';
    t.page = p;
  }
  yield null;
  t.label = 'ksm_do_scan: put_page(page)';
  t.page = p;
  if (frames.put(page) && w.tracing) w.note(`frame ${page} freed`);
}

function identical(w: World, a: number, b: number): boolean {
  for (let c = 0; c < w.cellsPerPage; c++) if (w.frames.read(a, c) !== w.frames.read(b, c)) return false;
  return true;
}

function pageLockGate(w: World, f: number): Gate {
  return { isOpen: () => w.frames.lockOwner[f] === -1 };
}

/**
 * try_to_merge_with_ksm_page(rmap_item, page, kpage) → try_to_merge_one_page(vma, page, kpage),
 * under down_read(mmap_sem). kpage = -1 stands for NULL (page becomes the KSM page); kpageAt is
 * the address that mapped kpage (for the hypothetical after-compare flush). Returns whether it
 * succeeded (err == 0).
 */
function* tryToMergeWithKsmPage(w: World, t: SimThread, x: number, page: number, kpage: number, kpageAt: number): Generator<Gate | null, boolean, void> {
  const frames = w.frames;
  yield w.mmapSem.readGate;
  t.label = 'try_to_merge_with_ksm_page: down_read(mmap_sem) + find_mergeable_vma; try_to_merge_one_page: trylock_page';
  t.page = x;
  w.mmapSem.downRead();
  let ok = false;
  if (frames.lockOwner[page] !== -1) {
    if (w.tracing) w.note(`frame ${page} locked: skip`);
  } else {
    frames.lockOwner[page] = t.id;
    const orig = yield* writeProtectPage(w, t, x, page);
    if (orig >= 0 && kpage < 0) {
      yield null;
      t.label = 'try_to_merge_one_page: set_page_stable_node(page, NULL) + SetPageDirty (page locked)';
      t.page = x;
      frames.ksm[page] = 1; // PageKsm from here: do_wp_page() copies, never reuses
      frames.dirty[page] = 1;
      ok = true;
    } else if (orig >= 0) {
      yield null;
      t.label = 'try_to_merge_one_page: pages_identical';
      t.page = x;
      const same = identical(w, page, kpage);
      if (w.tracing) w.note(`frames ${page} and ${kpage} ${same ? 'identical' : 'differ'}`);
      if (w.sites['ksm.writeProtect'] === 'after-compare') {
        // The hypothetical: both write_protect_page() flushes wait until the contents compared.
        yield null;
        t.label = 'mmu_notifier_invalidate_range ×2 (after pages_identical)';
        yield* invalidateRange(w, t, single(kpageAt));
        yield* invalidateRange(w, t, single(x));
      }
      if (same) ok = yield* replacePage(w, t, x, page, kpage, orig);
    }
    yield null;
    t.label = 'try_to_merge_one_page: unlock_page';
    t.page = x;
    frames.lockOwner[page] = -1;
  }
  yield null;
  t.label = 'try_to_merge_with_ksm_page: up_read(mmap_sem)';
  t.page = x;
  w.mmapSem.upRead();
  return ok;
}

/**
 * break_cow(rmap_item) → break_ksm(vma, addr) under down_read(mmap_sem): follow_page(FOLL_GET |
 * FOLL_MIGRATION); while it finds a PageKsm page, handle_mm_fault(FAULT_FLAG_WRITE |
 * FAULT_FLAG_REMOTE) copies it (do_wp_page → wp_page_copy). FOLL_MIGRATION waits for a migration
 * entry to go. Deviation: the model's fault path applies access_error(), so on a vma made read-only
 * meanwhile the loop stops (the kernel's wp_page_copy would install a read-only copy).
 */
function* breakCow(w: World, t: SimThread, x: number): Step {
  yield w.mmapSem.readGate;
  t.label = 'break_cow: down_read(mmap_sem) + find_mergeable_vma';
  t.page = x;
  w.mmapSem.downRead();
  for (;;) {
    yield null;
    t.label = 'break_ksm: follow_page(FOLL_GET | FOLL_MIGRATION)';
    t.page = x;
    const kind = w.pt.kind[x] as PteKind;
    if (kind === PteKind.Migration) {
      yield { isOpen: () => w.pt.kind[x] !== PteKind.Migration };
      t.label = 'follow_page: migration_entry_wait: woken';
      t.page = x;
      continue;
    }
    if (kind !== PteKind.Present || w.frames.ksm[w.pt.frame[x]] === 0) {
      if (w.tracing) w.note(`${w.pageName(x)}: ${w.pteText(x)}, no KSM page: done`);
      break;
    }
    if ((yield* handleMmFault(w, t, x, true)) === FaultResult.SigSegv) break;
  }
  yield null;
  t.label = 'break_cow: up_read(mmap_sem)';
  t.page = x;
  w.mmapSem.upRead();
}

/**
 * write_protect_page(), called with the page locked: range_start, and under the PT lock: if the
 * PTE is writable or dirty (or, ★ ksm.flushPending, an mmu_gather of the mm is in flight), clear+flush it, refuse if someone holds an extra reference
 * (page_mapcount + 1 + swapped != page_count: O_DIRECT, a GUP pin), else set it back read-only
 * and clean with set_pte_at_notify(). Returns the resulting PTE snapshot (orig_pte), or -1.
 */
function* writeProtectPage(w: World, t: SimThread, p: number, f: number): Generator<Gate | null, number, void> {
  const frames = w.frames;
  const mode = w.sites['ksm.writeProtect'];
  yield* rangeStart(w, t, single(p));
  yield* lockPtl(w, t, p, 'write_protect_page: page_vma_mapped_walk (pte_offset_map_lock)');
  yield null;
  t.page = p;
  let orig = -1;
  if (w.pt.kind[p] === PteKind.Present && w.pt.frame[p] === f) {
    // ★ ksm.flushPending: "|| mm_tlb_flush_pending(mm)" — another mmu_gather of the mm may still owe
    // the flush of a writable TLB entry for this read-only clean PTE (sim/kernel/tlbBatch.ts).
    const pending = w.sites['ksm.flushPending'] === 'check' && w.mmTlb.pending > 0;
    if (w.pt.write[p] === 1 || w.pt.dirty[p] === 1 || pending) {
      const swapped = w.backing.swapCache[p] === f ? 1 : 0;
      const notify = mode === 'notify-under-ptl';
      t.label = notify ? 'write_protect_page: ptep_clear_flush_notify' : 'write_protect_page: ptep_clear_flush';
      w.flushCpuTlbs(single(p));
      if (notify) yield* invalidateRange(w, t, single(p));
      if (frames.mapcount[f] + 1 + swapped !== frames.refcount[f]) {
        // The PTE is put back as it was: set_pte_at(mm, addr, pte, entry).
        t.label += ', page_count mismatch: set_pte_at(entry)';
        if (w.tracing) w.note(`mapcount ${frames.mapcount[f]} + 1 + ${swapped} ≠ count ${frames.refcount[f]}`);
      } else {
        t.label += ' + set_pte_at_notify(wrprotect, clean)';
        if (w.pt.dirty[p] === 1) frames.dirty[f] = 1;
        w.pt.write[p] = 0;
        w.pt.dirty[p] = 0;
        w.touch(p);
        yield* changePte(w, t, p);
        orig = w.pt.snapshot(p);
        if (w.tracing) w.note(`${w.pageName(p)}: ${w.pteText(p)}`);
      }
    } else {
      t.label = 'write_protect_page: already read-only and clean';
      orig = w.pt.snapshot(p);
    }
  } else {
    t.label = 'write_protect_page: page no longer mapped here';
  }
  yield* unlockPtl(w, t, p);
  yield* rangeEnd(w, t, single(p), mode === 'after-compare');
  return orig;
}

/**
 * replace_page(): under the PT lock, if the PTE is still orig_pte, map kpage read-only in its place
 * (get_page + page_add_anon_rmap, ptep_clear_flush[_notify], set_pte_at_notify, page_remove_rmap +
 * put_page of the old page). mk_pte(kpage, vm_page_prot) carries no soft-dirty bit.
 */
function* replacePage(w: World, t: SimThread, q: number, qf: number, kpage: number, orig: number): Generator<Gate | null, boolean, void> {
  const frames = w.frames;
  yield* rangeStart(w, t, single(q));
  yield* lockPtl(w, t, q, 'replace_page: pte_offset_map_lock');
  yield null;
  t.page = q;
  let done = false;
  if (w.pt.snapshot(q) !== orig) {
    t.label = 'replace_page: !pte_same, out';
  } else {
    const notify = w.sites['ksm.replace'] === 'notify-under-ptl';
    t.label = notify
      ? 'replace_page: ptep_clear_flush_notify + set_pte_at_notify(kpage) + page_remove_rmap'
      : 'replace_page: ptep_clear_flush + set_pte_at_notify(kpage) + page_remove_rmap';
    frames.refcount[kpage]++;
    frames.mapcount[kpage]++;
    w.flushCpuTlbs(single(q));
    if (notify) yield* invalidateRange(w, t, single(q));
    w.pt.setPresent(q, kpage, false, false, false);
    yield* changePte(w, t, q);
    frames.mapcount[qf]--;
    frames.put(qf);
    w.touch(q);
    done = true;
    if (w.tracing) w.note(`${w.pageName(q)}: frame ${qf} → ${w.pteText(q)}`);
  }
  yield* unlockPtl(w, t, q);
  yield* rangeEnd(w, t, single(q), false);
  return done;
}
