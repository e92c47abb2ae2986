import type { World } from '../world.ts';
import type { SimThread, Step } from '../thread.ts';
import type { Gate } from '../model/gate.ts';
import { PteKind } from '../model/pageTable.ts';
import { lockPtl, unlockPtl } from './ptl.ts';
import { changePte, invalidateRange, rangeEnd, rangeStart, single } from './notify.ts';

/**
 * ksmd merging the anonymous pages at P and Q (mm/ksm.c, cmp_and_merge_page →
 * try_to_merge_two_pages): P's page is write-protected and becomes the KSM page (kpage); Q's page
 * is write-protected, compared with pages_identical(), and replace_page() points Q's PTE at kpage;
 * Q's old page is freed when ksmd drops its reference.
 *
 * ★ ksm.writeProtect: write_protect_page() uses ptep_clear_flush_notify (v4.13) · plain
 *   ptep_clear_flush with the flush from its range_end (v4.15: "No need to notify as we are
 *   downgrading page table protection") · `after-compare`: the secondary flush only after
 *   pages_identical(), so a device can still write Q after the comparison.
 * ★ ksm.replace: replace_page() uses ptep_clear_flush_notify (v4.13) or only range_end (v4.15).
 */
export function* ksmMerge(w: World, t: SimThread, p: number, q: number): Step {
  const frames = w.frames;
  yield w.mmapSem.readGate;
  t.label = 'ksm_do_scan: down_read(mmap_sem) + get_mergeable_page ×2';
  t.page = q;
  w.mmapSem.downRead();
  const mergeable = (x: number) =>
    w.pt.kind[x] === PteKind.Present && w.pt.frame[x] !== w.zeroFrame ? w.pt.frame[x] : -1;
  const kpage = mergeable(p);
  const qf = mergeable(q);
  if (kpage < 0 || qf < 0 || kpage === qf) {
    if (w.tracing) w.note('nothing to merge');
    yield null;
    t.label = 'ksm_do_scan: up_read(mmap_sem)';
    w.mmapSem.upRead();
    return;
  }
  frames.refcount[kpage]++;
  frames.refcount[qf]++;

  const afterCompare = w.sites['ksm.writeProtect'] === 'after-compare';
  let merged = false;
  // try_to_merge_one_page(vma, page, NULL): P's page becomes the KSM page.
  const origP = yield* writeProtectPage(w, t, p, kpage, false);
  if (origP >= 0) {
    // try_to_merge_one_page(vma, page, kpage) for Q: Q's page stays locked until replace_page ends.
    const origQ = yield* writeProtectPage(w, t, q, qf, true);
    if (origQ >= 0) {
      yield null;
      t.label = 'try_to_merge_one_page: pages_identical';
      t.page = q;
      let identical = true;
      for (let c = 0; c < w.cellsPerPage; c++) if (frames.read(qf, c) !== frames.read(kpage, c)) identical = false;
      if (w.tracing) w.note(`frames ${qf} and ${kpage} ${identical ? 'identical' : 'differ'}`);
      if (afterCompare) {
        yield null;
        t.label = 'mmu_notifier_invalidate_range ×2 (after pages_identical)';
        yield* invalidateRange(w, t, single(p));
        yield* invalidateRange(w, t, single(q));
      }
      if (identical) merged = yield* replacePage(w, t, q, qf, kpage, origQ);
      yield null;
      t.label = 'try_to_merge_one_page: unlock_page';
      frames.lockOwner[qf] = -1;
    }
  }
  yield null;
  t.label = merged ? 'cmp_and_merge_page: put_page ×2 (old page freed), up_read' : 'cmp_and_merge_page: put_page ×2, up_read';
  t.page = q;
  if (merged) frames.ksm[kpage] = 1; // set_page_stable_node(): a write now always copies
  frames.put(kpage);
  if (frames.put(qf) && w.tracing) w.note(`frame ${qf} freed`);
  w.mmapSem.upRead();
}

/**
 * write_protect_page(): under trylock_page, range_start, and under the PT lock: if the PTE is
 * writable or dirty, clear+flush it, refuse if someone holds an extra reference
 * (page_mapcount + 1 + swapped != page_count: O_DIRECT, a GUP pin), else set it back read-only
 * and clean with set_pte_at_notify(). Returns the resulting PTE snapshot (orig_pte), or -1.
 */
function* writeProtectPage(w: World, t: SimThread, p: number, f: number, keepLocked: boolean): Generator<Gate | null, number, void> {
  const frames = w.frames;
  yield null;
  t.label = 'try_to_merge_one_page: trylock_page';
  t.page = p;
  if (frames.lockOwner[f] !== -1) {
    if (w.tracing) w.note(`frame ${f} locked: skip`);
    return -1;
  }
  frames.lockOwner[f] = t.id;
  const mode = w.sites['ksm.writeProtect'];
  yield* rangeStart(w, t, single(p));
  yield* lockPtl(w, t, p, 'write_protect_page: page_vma_mapped_walk (pte_offset_map_lock)');
  yield null;
  t.page = p;
  let orig = -1;
  if (w.pt.kind[p] === PteKind.Present && w.pt.frame[p] === f) {
    if (w.pt.write[p] === 1 || w.pt.dirty[p] === 1) {
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
  if (!keepLocked || orig < 0) {
    yield null;
    t.label = 'try_to_merge_one_page: unlock_page';
    frames.lockOwner[f] = -1;
  }
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
