import type { World } from '../world.ts';
import type { SimThread, Step } from '../thread.ts';

/** pte_offset_map_lock(): taking the PT lock is a step of its own, gated on the lock being free. */
export function* lockPtl(w: World, t: SimThread, p: number, label: string): Step {
  yield w.ptl[p];
  w.ptl[p].acquire(t.id);
  t.label = label;
  t.page = p;
}

/** pte_unmap_unlock(): the page leaves its PT-lock section, so the split-mapping oracle looks again. */
export function* unlockPtl(w: World, t: SimThread, p: number, label = 'pte_unmap_unlock'): Step {
  yield null;
  unlockPtlNow(w, t, p);
  t.label = label;
  t.page = p;
}

export function unlockPtlNow(w: World, t: SimThread, p: number): void {
  const lock = w.ptl[p];
  lock.release(t.id);
  if (w.scenario.world.ptLock === 'per-page') w.recheck(p);
  else for (let q = 0; q < w.pageCount; q++) if (w.ptl[q] === lock) w.recheck(q);
}
