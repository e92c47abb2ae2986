import type { World } from '../world.ts';
import type { SimThread, Step } from '../thread.ts';
import { PteKind } from '../model/pageTable.ts';
import { lockPtl, unlockPtl } from './ptl.ts';
import { rangeEnd, rangeStart, single } from './notify.ts';

/**
 * mprotect(P, r|rw) → mprotect_fixup() under down_write(mmap_sem) → change_protection() →
 * change_pmd_range(): range_start, change_pte_range() rewrites the PTE under the PT lock
 * (ptep_modify_prot_start/commit), range_end ★ mprotect.notify, then flush_tlb_range().
 *
 * "r" write-protects. "rw" on a private anonymous page leaves the PTE read-only (the new
 * vm_page_prot is PAGE_COPY; the next write faults and wp_page_reuse() upgrades it); on a shared
 * file page with dirty accounting a dirty PTE becomes writable at once (dirty_accountable).
 */
export function* mprotect(w: World, t: SimThread, p: number, prot: 'r' | 'rw'): Step {
  yield w.mmapSem.writeGate;
  t.label = 'mprotect: down_write(mmap_sem), vma->vm_flags';
  t.page = p;
  w.mmapSem.downWrite(t.id);
  w.vmaWrite[p] = prot === 'rw' ? 1 : 0;
  yield* rangeStart(w, t, single(p));
  yield* lockPtl(w, t, p, 'change_pte_range: pte_offset_map_lock');
  yield null;
  t.label = 'change_pte_range: ptep_modify_prot_start/commit';
  if (w.pt.kind[p] === PteKind.Present && w.pt.frame[p] !== w.zeroFrame) {
    if (prot === 'r') {
      w.pt.write[p] = 0;
    } else if (w.isFile[p] === 1 && w.pt.dirty[p] === 1) {
      w.pt.write[p] = 1; // dirty_accountable && pte_dirty(): pte_mkwrite()
    }
    w.touch(p);
    if (w.tracing) w.note(`${w.pageName(p)}: ${w.pteText(p)}`);
  } else if (w.pt.kind[p] === PteKind.Migration && prot === 'r') {
    w.pt.write[p] = 0; // a writable migration entry becomes a read one
  }
  yield* unlockPtl(w, t, p);
  yield* rangeEnd(w, t, single(p), w.sites['mprotect.notify'] === 'none');
  yield null;
  t.label = 'change_protection_range: flush_tlb_range';
  w.flushCpuTlbs(single(p));
  yield null;
  t.label = 'mprotect: up_write(mmap_sem)';
  w.mmapSem.upWrite();
}
