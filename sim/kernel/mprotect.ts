import type { World } from '../world.ts';
import type { SimThread, Step } from '../thread.ts';
import { PteKind } from '../model/pageTable.ts';
import { lockPtl, unlockPtl } from './ptl.ts';
import { rangeEnd, rangeStart, single } from './notify.ts';
import { flushTlbBatchedPending } from './tlbBatch.ts';

/**
 * mprotect(P, r|rw) → mprotect_fixup() under down_write(mmap_sem) → change_protection() →
 * change_pmd_range(): range_start, change_pte_range() rewrites the PTE under the PT lock
 * (ptep_modify_prot_start/commit), range_end ★ mprotect.notify, then flush_tlb_range() if it
 * rewrote an entry (mm/mprotect.c change_protection_range, 4.10.17–4.15.18).
 * mprotect_fixup() returns at once when the flags do not change ("newflags == oldflags", 4.10–6.6).
 *
 * "r" write-protects. "rw" leaves the PTE read-only (a private mapping's vm_page_prot is PAGE_COPY,
 * a shared file mapping's is write-notify's read-only one) unless ★ mprotect.writeUpgrade makes it
 * writable at once — see writeUpgrade() below.
 */
export function* mprotect(w: World, t: SimThread, p: number, prot: 'r' | 'rw'): Step {
  yield w.mmapSem.writeGate;
  t.label = 'mprotect: down_write(mmap_sem), vma->vm_flags';
  t.page = p;
  w.mmapSem.downWrite(t.id);
  const newWrite = prot === 'rw' ? 1 : 0;
  if (w.vmaWrite[p] === newWrite) {
    // mprotect_fixup(): "if (newflags == oldflags) { *pprev = vma; return 0; }"
    if (w.tracing) w.note(`${w.pageName(p)}: vm_flags unchanged`);
    yield null;
    t.label = 'mprotect: up_write(mmap_sem)';
    w.mmapSem.upWrite();
    return;
  }
  w.vmaWrite[p] = newWrite;
  yield* rangeStart(w, t, single(p));
  yield* lockPtl(w, t, p, 'change_pte_range: pte_offset_map_lock');
  yield null;
  // ★ tlb.batchedPending: flush_tlb_batched_pending(vma->vm_mm) right after pte_offset_map_lock (3ea277194daa).
  const batched = flushTlbBatchedPending(w, p);
  t.label = `change_pte_range: ${batched}ptep_modify_prot_start/commit`;
  // change_pte_range() counts `pages++` for every present PTE it rewrites (the zero page's too) and
  // for a writable migration entry it makes readable; change_protection_range() flushes only then.
  let pages = 0;
  if (w.pt.kind[p] === PteKind.Present) pages++;
  if (w.pt.kind[p] === PteKind.Present && w.pt.frame[p] !== w.zeroFrame) {
    if (prot === 'r') {
      w.pt.write[p] = 0;
    } else if (w.pt.write[p] === 0) {
      const why = writeUpgrade(w, p);
      if (why !== '') {
        // pte_mkwrite(): the next write does not fault. The label names the rule that allowed it
        // (a soft-dirty-missed finding names the step that made the PTE writable).
        t.label = `change_pte_range: ${batched}ptep_modify_prot_start/commit + pte_mkwrite (${why})`;
        w.pt.write[p] = 1;
      }
    }
    w.touch(p);
    if (w.tracing) w.note(`${w.pageName(p)}: ${w.pteText(p)}`);
  } else if (w.pt.kind[p] === PteKind.Migration && prot === 'r') {
    if (w.pt.write[p] === 1) pages++;
    w.pt.write[p] = 0; // a writable migration entry becomes a read one
  }
  yield* unlockPtl(w, t, p);
  yield* rangeEnd(w, t, single(p), w.sites['mprotect.notify'] === 'none');
  if (pages > 0) {
    // "Only flush the TLB if we actually modified any entries: if (pages) flush_tlb_range(vma, start, end);"
    yield null;
    t.label = 'change_protection_range: flush_tlb_range';
    w.flushCpuTlbs(single(p));
  }
  yield null;
  t.label = 'mprotect: up_write(mmap_sem)';
  w.mmapSem.upWrite();
}

/**
 * ★ mprotect.writeUpgrade — does change_pte_range() make a read-only PTE writable at once when
 * the vma becomes writable?
 *
 * `dirty-accountable` (v4.10, v4.11, v4.13, v4.15; mm/mprotect.c change_pte_range): "Avoid taking
 * write faults for known dirty pages": `dirty_accountable && pte_dirty(ptent) &&
 * (pte_soft_dirty(ptent) || !(vma->vm_flags & VM_SOFTDIRTY))`. dirty_accountable =
 * vma_wants_writenotify() is true for a writable shared file mapping, never for a private one.
 * The soft-dirty test is inverted: after clear_refs (VM_SOFTDIRTY clear, PTE soft-dirty clear but
 * still dirty) the PTE becomes writable, the next write takes no fault, and soft-dirty is lost —
 * a real kernel bug, kept.
 *
 * `can-change-pte-writable` (v6.6; MM_CP_TRY_CHANGE_WRITABLE when
 * vma_wants_manual_pte_write_upgrade()): can_change_pte_writable() refuses while soft-dirty
 * tracking still needs the write fault (`vma_soft_dirty_enabled(vma) && !pte_soft_dirty(pte)`,
 * the test 76aefad628aa "mm/mprotect: fix soft-dirty check in can_change_pte_writable()" fixed in
 * v6.0), then allows a private mapping's exclusive anonymous page (PageAnonExclusive, added by
 * 64fe24a3e05e "mm/mprotect: try avoiding write faults for exclusive anonymous pages when changing
 * protection", v5.19) and a shared mapping's dirty PTE.
 *
 * `exclusive-anon-inverted` (v5.19, can_change_pte_writable() as 64fe24a3e05e merged it): a dirty
 * PTE only (`pte_protnone(pte) || !pte_dirty(pte)` → false), the soft-dirty test inverted
 * (`(vma->vm_flags & VM_SOFTDIRTY) && !pte_soft_dirty(pte)` → false), then exclusive anonymous or
 * shared file. Peter Xu's 76aefad628aa ("Fixes: 64fe24a3e05e") turned the test around.
 *
 * PageAnonExclusive has no flag in the model: an anonymous page is exclusive exactly when the
 * model's do_wp_page() would reuse it in place (not the zero page, not KSM, mapped once) — the
 * invariant the flag stands for ("our write-fault handler similarly would map them writable").
 */
function writeUpgrade(w: World, p: number): string {
  const pt = w.pt;
  const f = pt.frame[p];
  const mode = w.sites['mprotect.writeUpgrade'];
  if (mode === 'dirty-accountable') {
    const ok = w.isFile[p] === 1 && pt.dirty[p] === 1 && (pt.softDirty[p] === 1 || w.vmaSoftDirty[p] === 0);
    return ok ? 'dirty_accountable && pte_dirty' : '';
  }
  const exclusiveAnon = w.isFile[p] === 0 && f !== w.zeroFrame && w.frames.ksm[f] === 0 && w.frames.mapcount[f] === 1;
  if (mode === 'exclusive-anon-inverted') {
    if (pt.dirty[p] === 0) return '';
    if (w.vmaSoftDirty[p] === 1 && pt.softDirty[p] === 0) return ''; // the inverted test
    return w.isFile[p] === 1 ? 'can_change_pte_writable v5.19: shared, pte_dirty' : exclusiveAnon ? 'can_change_pte_writable v5.19: PageAnonExclusive' : '';
  }
  // vma_soft_dirty_enabled(vma) && !pte_soft_dirty(pte): tracking needs this write fault.
  if (w.vmaSoftDirty[p] === 0 && pt.softDirty[p] === 0) return '';
  if (w.isFile[p] === 1) return pt.dirty[p] === 1 ? 'can_change_pte_writable: shared, pte_dirty' : '';
  return exclusiveAnon ? 'can_change_pte_writable: PageAnonExclusive' : '';
}
