import type { World } from '../world.ts';
import type { SimThread, Step } from '../thread.ts';
import { PteKind } from '../model/pageTable.ts';
import { lockPtl, unlockPtl } from './ptl.ts';
import { invalidatePageStep, invalidateRangeStep, rangeEnd, rangeStart, single } from './notify.ts';

function pageLocked(w: World, f: number) {
  return { isOpen: () => w.frames.lockOwner[f] === -1 };
}

/**
 * Writeback of the file page at P: write_cache_pages() → lock_page → clear_page_dirty_for_io()
 * → page_mkclean() → page_mkclean_one() (mm/rmap.c), then ->writepage writes the frame to the file.
 * A later write through the now read-only PTE faults (wp_page_shared) and re-dirties the page.
 *
 * page_mkclean_one ★ mkclean.notify: ≤ v4.10 calls mmu_notifier_invalidate_page() after the walk
 * unlocked, v4.11–v4.12 inside it under the PT lock, neither with range_start/end; v4.13 (369ea8242c0f) brackets it with range_start/end and
 * calls invalidate_range under the PT lock; v4.15 (0f10851ea475) relies on range_end ("we are
 * downgrading page table protection not changing it to point to a new page"); `none` never tells
 * the secondary TLBs.
 */
export function* writeback(w: World, t: SimThread, p: number): Step {
  const frames = w.frames;
  yield null;
  t.label = 'write_cache_pages: find_get_page';
  t.page = p;
  const f = w.backing.swapCache[p];
  if (f < 0) {
    if (w.tracing) w.note(`${w.pageName(p)} is not in the page cache: nothing to write`);
    return;
  }
  frames.refcount[f]++;
  yield pageLocked(w, f);
  t.label = 'write_cache_pages: lock_page';
  frames.lockOwner[f] = t.id;
  if (w.backing.swapCache[p] !== f) {
    frames.lockOwner[f] = -1;
    frames.put(f);
    return;
  }

  // clear_page_dirty_for_io(): "if (page_mkclean(page)) set_page_dirty(page)"
  const notify = w.sites['mkclean.notify'];
  const bracket = notify !== 'after-unlock' && notify !== 'page-under-ptl';
  if (bracket) yield* rangeStart(w, t, single(p));
  yield* lockPtl(w, t, p, 'page_mkclean_one: page_vma_mapped_walk (pte_offset_map_lock)');
  let cleaned = false;
  if (w.pt.kind[p] === PteKind.Present && w.pt.frame[p] === f && (w.pt.dirty[p] === 1 || w.pt.write[p] === 1)) {
    yield null;
    t.label = 'page_mkclean_one: ptep_clear_flush + pte_wrprotect + pte_mkclean + set_pte_at';
    const wasDirty = w.pt.dirty[p] === 1;
    w.flushCpuTlbs(single(p));
    w.pt.write[p] = 0;
    w.pt.dirty[p] = 0;
    if (wasDirty) frames.dirty[f] = 1;
    cleaned = true;
    w.touch(p);
    if (w.tracing) w.note(`${w.pageName(p)}: ${w.pteText(p)}`);
    if (notify === 'under-ptl') yield* invalidateRangeStep(w, t, single(p));
    else if (notify === 'page-under-ptl') yield* invalidatePageStep(w, t, p);
  }
  yield* unlockPtl(w, t, p, 'page_mkclean_one: page_vma_mapped_walk_done (pte_unmap_unlock)');
  if (notify === 'after-unlock' && cleaned) yield* invalidatePageStep(w, t, p);
  if (bracket) yield* rangeEnd(w, t, single(p), notify === 'none');

  yield null;
  t.label = 'clear_page_dirty_for_io: TestClearPageDirty';
  t.page = p;
  const dirty = frames.dirty[f] === 1;
  frames.dirty[f] = 0;
  if (dirty) {
    yield null;
    t.label = '->writepage: write the page to the file';
    w.backing.writeFromFrame(p, frames.cells, f);
    if (w.tracing) w.note(`frame ${f} written to ${w.pageName(p)}'s file block`);
  }
  yield null;
  t.label = 'write_cache_pages: unlock_page + put_page';
  frames.lockOwner[f] = -1;
  frames.put(f);
}
