import type { World } from '../world.ts';
import type { SimThread, Step } from '../thread.ts';
import { PteKind } from '../model/pageTable.ts';
import { lockPtl, unlockPtl } from './ptl.ts';
import { invalidatePageStep, invalidateRange, invalidateRangeStep, rangeEnd, rangeStart, single } from './notify.ts';

/**
 * migrate_pages() of the page mapped at P (mm/migrate.c, unmap_and_move → __unmap_and_move):
 * isolate and lock the page, allocate the new one, try_to_unmap(TTU_MIGRATION) replaces the PTE
 * with a migration entry (faults on it wait in migration_entry_wait), move_to_new_page() checks
 * the reference count and copies the page, remove_migration_ptes() maps the new page, and the old
 * one is freed.
 *
 * ★ migrate.flush: `before-copy` — the secondary TLBs are told in try_to_unmap_one, as the variant's
 * unmap.* sites say (under the PT lock in v4.13, from its range_end in v4.15), either way before
 * move_to_new_page() copies; `after-copy` — nothing reaches them until the copy is done, so a device writing through
 * its ATC during the copy writes to the old page.
 */
export function* migrate(w: World, t: SimThread, p: number): Step {
  const frames = w.frames;
  yield null;
  t.label = 'migrate_pages: isolate_lru_page';
  t.page = p;
  if (w.pt.kind[p] !== PteKind.Present || w.pt.frame[p] === w.zeroFrame) {
    if (w.tracing) w.note(`${w.pageName(p)} is ${w.pteText(p)}: nothing to migrate`);
    return;
  }
  const old = w.pt.frame[p];
  frames.refcount[old]++;
  yield { isOpen: () => frames.lockOwner[old] === -1 };
  t.label = '__unmap_and_move: lock_page + get_new_page';
  frames.lockOwner[old] = t.id;
  const nf = w.allocFrame(p);
  frames.lockOwner[nf] = t.id; // newpage stays locked until remove_migration_ptes() is done
  if (w.tracing) w.note(`new frame ${nf} for frame ${old}`);

  // try_to_unmap(page, TTU_MIGRATION | TTU_IGNORE_MLOCK | TTU_IGNORE_ACCESS) → try_to_unmap_one()
  const afterCopy = w.sites['migrate.flush'] === 'after-copy';
  const notify = w.sites['unmap.notify'];
  const bracket = w.sites['unmap.rangeBracket'] === 'true';
  if (bracket) yield* rangeStart(w, t, single(p));
  yield* lockPtl(w, t, p, 'try_to_unmap_one(TTU_MIGRATION): pte_offset_map_lock');
  let unmapped = false;
  if ((w.pt.kind[p] as PteKind) === PteKind.Present && w.pt.frame[p] === old) {
    yield null;
    t.label = 'try_to_unmap_one: ptep_clear_flush + set_pte_at(migration entry) + page_remove_rmap';
    const wasDirty = w.pt.dirty[p] === 1;
    const wasWrite = w.pt.write[p] === 1;
    w.flushCpuTlbs(single(p));
    if (wasDirty) frames.dirty[old] = 1;
    // ★ migrate.restoreDirty: v6.1+ keeps the dirty bit in the entry (make_migration_entry_dirty).
    const entryDirty = wasDirty && w.sites['migrate.restoreDirty'] === 'entry-dirty';
    w.pt.setMigration(p, old, wasWrite, entryDirty, w.pt.softDirty[p] === 1);
    frames.mapcount[old]--;
    frames.put(old);
    unmapped = true;
    w.touch(p);
    if (w.tracing) w.note(`${w.pageName(p)} → ${w.pteText(p)}`);
    // v4.13 calls invalidate_range at "discard:" for migration entries too; v4.15 does not (only
    // the anonymous swap/discard branches kept it); v4.11 calls invalidate_page there.
    if (!afterCopy && notify === 'under-ptl') yield* invalidateRangeStep(w, t, single(p));
    else if (!afterCopy && notify === 'page-under-ptl') yield* invalidatePageStep(w, t, p);
  }
  yield* unlockPtl(w, t, p);
  if (!afterCopy && notify === 'after-unlock' && unmapped) yield* invalidatePageStep(w, t, p);
  if (bracket) yield* rangeEnd(w, t, single(p), afterCopy);

  // move_to_new_page() → migrate_page() → migrate_page_move_mapping(): the only references left
  // must be ours and the swap/page cache's, else -EAGAIN (a GUP pin, a racing fault).
  yield null;
  t.page = p;
  const expected = 1 + (w.backing.swapCache[p] === old ? 1 : 0);
  const ok = unmapped && frames.refcount[old] === expected;
  if (ok) {
    t.label = 'migrate_page_move_mapping + migrate_page_copy';
    frames.copy(old, nf);
    frames.dirty[nf] = frames.dirty[old];
    frames.lazyfree[nf] = frames.lazyfree[old];
    if (w.backing.swapCache[p] === old) {
      w.backing.swapCache[p] = nf; // the cache entry moves to the new page with its reference
      frames.refcount[nf]++;
      frames.refcount[old]--;
    }
    if (w.tracing) w.note(`frame ${old} copied to frame ${nf}`);
  } else {
    t.label = 'migrate_page_move_mapping: -EAGAIN (extra references)';
    if (w.tracing) w.note(`frame ${old} refcount ${frames.refcount[old]}, expected ${expected}`);
  }
  if (afterCopy) {
    yield null;
    t.label = 'mmu_notifier_invalidate_range (after the copy)';
    yield* invalidateRange(w, t, single(p));
  }

  // remove_migration_ptes(old, ok ? new : old): restore whatever migration entry is still there.
  const target = ok ? nf : old;
  yield* lockPtl(w, t, p, 'remove_migration_pte: pte_offset_map_lock');
  yield null;
  t.label = w.isFile[p] === 1 ? 'remove_migration_pte: set_pte_at + page_add_file_rmap' : 'remove_migration_pte: set_pte_at + page_add_anon_rmap';
  let mappedNew = false;
  if ((w.pt.kind[p] as PteKind) === PteKind.Migration && w.pt.frame[p] === old) {
    mappedNew = target === nf;
    const write = w.pt.write[p] === 1 && w.vmaWrite[p] === 1;
    frames.mapcount[target]++;
    if (target === old) frames.refcount[old]++;
    // ★ migrate.restoreDirty. v4.10–v4.15: pte_mkold(mk_pte()) + maybe_mkwrite: a clean PTE, soft-dirty
    // only if the entry had it. v6.1+ (2e3468778dbe): folio_test_dirty && is_migration_entry_dirty →
    // pte_mkdirty, which on x86 sets _PAGE_SOFT_DIRTY too ("this may contain setting soft-dirty on
    // some archs").
    const dirty = w.pt.dirty[p] === 1 && frames.dirty[target] === 1;
    w.pt.setPresent(p, target, write, dirty, w.pt.softDirty[p] === 1 || dirty);
    w.touch(p);
    if (w.tracing) w.note(`${w.pageName(p)} → ${w.pteText(p)}`);
  } else if (ok) {
    // The entry was zapped meanwhile: nobody maps the new page.
    if (w.tracing) w.note('migration entry gone: the new page is not mapped');
  }
  yield* unlockPtl(w, t, p);
  yield null;
  t.label = ok ? 'migrate_pages: unlock_page + put_page(old), putback new' : 'migrate_pages: unlock_page + putback_lru_page';
  frames.lockOwner[old] = -1;
  frames.lockOwner[nf] = -1;
  if (frames.put(old) && w.tracing) w.note(`frame ${old} freed`);
  // The new page's allocation reference becomes its mapping's; if it was never mapped it is dropped.
  if (!mappedNew) frames.put(nf);
}
