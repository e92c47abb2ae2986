import type { World } from '../world.ts';
import type { SimThread, Step } from '../thread.ts';
import type { PageRange } from '../model/secondaryMmu.ts';

/**
 * The mmu_notifier chain (mm/mmu_notifier.c). A range_start..range_end window is what lets a
 * secondary MMU (and the split-mapping oracle) tolerate a PTE and its copies disagreeing.
 */

/** __mmu_notifier_invalidate_range_start(): opens the window, then each subscriber's callback. */
export function* rangeStart(w: World, t: SimThread, r: PageRange): Step {
  yield null;
  t.label = 'mmu_notifier_invalidate_range_start';
  t.page = r.first;
  for (let p = r.first; p <= r.last; p++) w.windows[p]++;
  if (w.tracing) w.note(`window open ${w.rangeText(r)}`);
  for (const n of w.notifiers) if (n.invalidateRangeStart) yield* n.invalidateRangeStart(w, t, r);
}

/**
 * __mmu_notifier_invalidate_range_end(): for each subscriber, ->invalidate_range unless the caller
 * used the _only_end() form (v4.15, commit 0f10851ea475), then ->invalidate_range_end. The window
 * closes when the call returns.
 */
export function* rangeEnd(w: World, t: SimThread, r: PageRange, onlyEnd: boolean): Step {
  yield null;
  t.label = onlyEnd ? 'mmu_notifier_invalidate_range_only_end' : 'mmu_notifier_invalidate_range_end';
  t.page = r.first;
  for (const n of w.notifiers) {
    if (!onlyEnd && n.invalidateRange) yield* n.invalidateRange(w, t, r);
    if (n.invalidateRangeEnd) yield* n.invalidateRangeEnd(w, t, r);
  }
  for (let p = r.first; p <= r.last; p++) {
    w.windows[p]--;
    w.recheck(p);
  }
  if (w.tracing) w.note(`window closed ${w.rangeText(r)}`);
}

/** mmu_notifier_invalidate_range(): flush secondary TLBs, starting inside the caller's step. */
export function* invalidateRange(w: World, t: SimThread, r: PageRange): Step {
  for (const n of w.notifiers) if (n.invalidateRange) yield* n.invalidateRange(w, t, r);
}

/** mmu_notifier_invalidate_range() as a step of its own (an explicit call under the PT lock). */
export function* invalidateRangeStep(w: World, t: SimThread, r: PageRange): Step {
  yield null;
  t.label = 'mmu_notifier_invalidate_range';
  t.page = r.first;
  yield* invalidateRange(w, t, r);
}

/** mmu_notifier_invalidate_page() (v4.12 and earlier): ->invalidate_page of each subscriber. */
export function* invalidatePageStep(w: World, t: SimThread, p: number): Step {
  yield null;
  t.label = 'mmu_notifier_invalidate_page';
  t.page = p;
  for (const n of w.notifiers) if (n.invalidatePage) yield* n.invalidatePage(w, t, p);
}

/** set_pte_at_notify() → mmu_notifier_change_pte(): the caller already set the PTE in this step. */
export function* changePte(w: World, t: SimThread, p: number): Step {
  for (const n of w.notifiers) if (n.changePte) yield* n.changePte(w, t, p);
}

export function single(p: number): PageRange {
  return { first: p, last: p };
}
