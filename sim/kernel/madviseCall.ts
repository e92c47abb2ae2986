import type { World } from '../world.ts';
import type { SimThread, Step } from '../thread.ts';

/**
 * sys_madvise() around an advice that takes mmap_sem for read (MADV_FREE, MADV_DONTNEED): the
 * page's content is not promised to anyone while the call runs, and its expectation restarts when
 * it returns (docs/oracles.md, stale-read / lost-write exemptions).
 */
export function* madviseEnter(w: World, t: SimThread, p: number, label: string): Step {
  yield w.mmapSem.readGate;
  t.label = label;
  t.page = p;
  w.mmapSem.downRead();
  w.oracles.beginExempt(p);
}

export function* madviseExit(w: World, t: SimThread, p: number): Step {
  yield null;
  t.label = 'madvise: up_read(mmap_sem)';
  t.page = p;
  w.mmapSem.upRead();
  w.oracles.endExempt(p);
}
