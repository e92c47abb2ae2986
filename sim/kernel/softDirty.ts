import type { World } from '../world.ts';
import type { SimThread, Step } from '../thread.ts';
import { PteKind } from '../model/pageTable.ts';
import { lockPtl, unlockPtl } from './ptl.ts';
import { rangeEnd, rangeStart } from './notify.ts';

/**
 * echo 4 > /proc/PID/clear_refs → clear_refs_write(CLEAR_REFS_SOFT_DIRTY) (fs/proc/task_mmu.c):
 * down_read(mmap_sem), range_start(0, -1), per PTE under its PT lock clear_soft_dirty() (write-protect
 * and clear the soft-dirty bit), range_end(0, -1) — ★ clearRefs.invalidate: whether that range_end's
 * invalidate_range reaches the secondary TLBs — then flush_tlb_mm(), up_read.
 * The VM_SOFTDIRTY vma-flag pass the kernel does under down_write first is folded into the first step.
 */
export function* clearRefs(w: World, t: SimThread): Step {
  yield w.mmapSem.readGate;
  t.label = 'clear_refs_write: down_read(mmap_sem)';
  t.page = -1;
  w.mmapSem.downRead();
  w.oracles.beginClearRefs();
  // The vma pass (under down_write in the kernel) clears VM_SOFTDIRTY; one step here.
  w.vmaSoftDirty.fill(0);
  yield* rangeStart(w, t, w.allPages);
  for (let p = 0; p < w.pageCount; p++) {
    yield* lockPtl(w, t, p, 'clear_refs_pte_range: pte_offset_map_lock');
    yield null;
    t.label = 'clear_soft_dirty: ptep_modify_prot_start/commit (wrprotect, clear soft-dirty)';
    const kind = w.pt.kind[p] as PteKind;
    if (kind === PteKind.Present) {
      w.pt.write[p] = 0;
      w.pt.softDirty[p] = 0;
      w.touch(p);
      if (w.tracing) w.note(`${w.pageName(p)}: ${w.pteText(p)}`);
    } else if (kind === PteKind.Swap || kind === PteKind.Migration) {
      w.pt.softDirty[p] = 0; // pte_swp_clear_soft_dirty(): a migration entry is a swap pte too
    }
    yield* unlockPtl(w, t, p);
  }
  yield* rangeEnd(w, t, w.allPages, w.sites['clearRefs.invalidate'] === 'none');
  yield null;
  t.label = 'clear_refs_write: flush_tlb_mm';
  t.page = -1;
  w.flushCpuTlbs(w.allPages);
  yield null;
  t.label = 'clear_refs_write: up_read(mmap_sem)';
  w.mmapSem.upRead();
  w.oracles.endClearRefs();
}

/**
 * read /proc/PID/pagemap for P → pagemap_pmd_range() → pte_to_pagemap_entry(): PM_SOFT_DIRTY from
 * pte_soft_dirty() or pte_swp_soft_dirty(), read under the PT lock.
 */
export function* pagemap(w: World, t: SimThread, p: number): Step {
  yield w.mmapSem.readGate;
  t.label = 'pagemap_read: down_read(mmap_sem)';
  t.page = p;
  w.mmapSem.downRead();
  yield* lockPtl(w, t, p, 'pagemap_pmd_range: pte_offset_map_lock');
  yield null;
  t.label = 'pte_to_pagemap_entry';
  const kind = w.pt.kind[p] as PteKind;
  if (kind !== PteKind.None) {
    // PM_SOFT_DIRTY: pte_soft_dirty() / pte_swp_soft_dirty(), or the vma's VM_SOFTDIRTY.
    const sd = w.pt.softDirty[p] === 1 || w.vmaSoftDirty[p] === 1;
    if (w.tracing) w.note(`${w.pageName(p)} soft-dirty=${sd ? 1 : 0}`);
    w.oracles.onPagemap(p, sd);
  } else if (w.tracing) {
    w.note(`${w.pageName(p)} not present`);
  }
  yield* unlockPtl(w, t, p);
  yield null;
  t.label = 'pagemap_read: up_read(mmap_sem)';
  w.mmapSem.upRead();
}
