import fc from 'fast-check';
import { summarize, type Summary } from './stats.ts';
import { CAMPAIGN_STRIDE } from './firstFinding.ts';

/**
 * Figure 5's baseline: the cow-two-pages race of Documentation/mm/mmu_notifier.rst written the way
 * one would without racefarm — as async tasks whose interleaving fast-check's `fc.scheduler()`
 * chooses (it releases one pending task at a time, picked at random from its seed).
 *
 * The model (a deliberately small copy of racefarm's, same threads and ops as the built-in scenario):
 * - pages A and B, each COW-shared with a passive mm: PTE present, read-only; frames hold one cell (0).
 * - cpu0 writes A=1, cpu1 writes B=1, cpu2 writes A=2, cpu3 writes B=2. A write to a read-only PTE
 *   faults into wp_page_copy(), one atomic step per kernel action: alloc_page + copy,
 *   mmu_notifier_invalidate_range_start (a no-op for amd_iommu_v2), spin_lock(ptl),
 *   pte_same recheck + ptep_clear_flush[_notify] — the `_notify` flushes the device TLB (ATC) under
 *   the lock in the correct variant (v4.13) and not in range-end-only — set_pte_at_notify (new page,
 *   writable), spin_unlock(ptl), mmu_notifier_invalidate_range_end (flushes the ATC in both variants),
 *   then the write is retried. A CPU whose pte_same recheck fails (another CPU already copied) backs off
 *   and retries. CPU TLBs are left out: ptep_clear_flush empties them synchronously, so a CPU access
 *   is modelled as going through the PTE.
 * - dev0 reads A twice, dev2 reads B twice, through the device's ATC: a hit reads the cached frame; a
 *   miss walks the PTE (no lock) and caches it; a PTE cleared mid-COW makes the device retry (PRI
 *   reduced to "try again").
 * - oracle stale-read: a device read returns a value other than the last one written to that page
 *   in step order.
 * Every step is `await s.schedule(...)`, so fast-check decides the interleaving at each step, as
 * racefarm's scheduler does.
 */
export type CowVariant = 'range-end-only' | 'v4.13';

interface Model {
  frames: number[];
  /** PTE per page: frame or -1 (cleared), writable. */
  pte: { frame: number; write: boolean }[];
  /** Device ATC per page: frame or -1. */
  atc: number[];
  ptlOwner: (string | null)[];
  expected: number[];
  steps: number;
  stale: string | null;
}

async function cowRace(s: fc.Scheduler, variant: CowVariant): Promise<Model> {
  const m: Model = {
    frames: [0, 0], // frame 0 = A's shared page, frame 1 = B's
    pte: [
      { frame: 0, write: false },
      { frame: 1, write: false },
    ],
    atc: [-1, -1],
    ptlOwner: [null, null],
    expected: [0, 0],
    steps: 0,
    stale: null,
  };
  const step = async (who: string, what: string): Promise<void> => {
    await s.schedule(Promise.resolve(`${who}: ${what}`), `${who}: ${what}`);
    m.steps++;
  };

  const cpuWrite = async (who: string, p: number, v: number): Promise<void> => {
    for (;;) {
      await step(who, `write ${p}`);
      const pte = m.pte[p];
      if (pte.frame >= 0 && pte.write) {
        m.frames[pte.frame] = v;
        m.expected[p] = v;
        return;
      }
      if (pte.frame < 0) continue; // mid-COW by another CPU: fault again later
      // do_wp_page → wp_page_copy
      const orig = pte.frame;
      await step(who, 'alloc_page + copy');
      const copy = m.frames.length;
      m.frames.push(m.frames[orig]);
      await step(who, 'invalidate_range_start');
      for (;;) {
        await step(who, 'spin_lock(ptl)');
        if (m.ptlOwner[p] === null) {
          m.ptlOwner[p] = who;
          break;
        }
      }
      await step(who, variant === 'v4.13' ? 'ptep_clear_flush_notify' : 'ptep_clear_flush');
      if (m.pte[p].frame !== orig) {
        // pte_same failed: someone else copied first; drop our copy and fault again.
        m.ptlOwner[p] = null;
        continue;
      }
      m.pte[p] = { frame: -1, write: false };
      if (variant === 'v4.13') m.atc[p] = -1; // invalidate_range under the PT lock
      await step(who, 'set_pte_at_notify');
      m.pte[p] = { frame: copy, write: true };
      await step(who, 'spin_unlock(ptl)');
      m.ptlOwner[p] = null;
      await step(who, 'invalidate_range_end');
      m.atc[p] = -1;
    }
  };

  const devRead = async (who: string, p: number): Promise<void> => {
    for (;;) {
      await step(who, `read ${p}`);
      let f = m.atc[p];
      if (f < 0) {
        const pte = m.pte[p];
        if (pte.frame < 0) continue; // translation fails: PRI, retry
        f = m.atc[p] = pte.frame;
      }
      const v = m.frames[f];
      if (v !== m.expected[p] && m.stale === null) m.stale = `${who} read page ${p} = ${v}, last written ${m.expected[p]}`;
      return;
    }
  };

  const threads = [
    cpuWrite('cpu0', 0, 1),
    cpuWrite('cpu1', 1, 1),
    cpuWrite('cpu2', 0, 2),
    cpuWrite('cpu3', 1, 2),
    (async () => {
      await devRead('dev0', 0);
      await devRead('dev0', 0);
    })(),
    (async () => {
      await devRead('dev2', 1);
      await devRead('dev2', 1);
    })(),
  ];
  await s.waitFor(Promise.all(threads));
  return m;
}

export interface FastCheckRow {
  race: 'cow-two-pages';
  variant: CowVariant;
  /** fc.check runs allowed per search before "not found within cap". */
  cap: number;
  campaigns: number;
  /** fc runs up to and including the first one with a stale read (fast-check's numRuns at failure). */
  runs: Summary;
  ms: Summary;
  /** Mean atomic steps per run of the async model. */
  stepsPerRun: number;
  /** fc.check runs per second over the searches (one core): the cost of one async run. */
  runsPerSec: number;
  /** Sanity check: runs of the correct variant (v4.13) and how many of them failed (must be 0). */
  correct: { runs: number; failures: number };
  perCampaign: { campaign: number; runs: number | null; ms: number }[];
}

export async function measureFastCheck(campaigns: number, cap: number, correctRuns: number): Promise<FastCheckRow> {
  let steps = 0;
  let runsTotal = 0;
  const property = (variant: CowVariant) =>
    fc.asyncProperty(fc.scheduler(), async (s) => {
      const m = await cowRace(s, variant);
      steps += m.steps;
      runsTotal++;
      if (m.stale !== null) throw new Error(`stale-read: ${m.stale}`);
    });
  // Warm-up (JIT), other seeds.
  await fc.check(property('range-end-only'), { seed: 424242, numRuns: 200, endOnFailure: true });
  const per: FastCheckRow['perCampaign'] = [];
  let allRuns = 0;
  let allMs = 0;
  for (let k = 0; k < campaigns; k++) {
    const t0 = performance.now();
    const d = await fc.check(property('range-end-only'), { seed: k * CAMPAIGN_STRIDE + 1, numRuns: cap, endOnFailure: true });
    const ms = performance.now() - t0;
    per.push({ campaign: k, runs: d.failed ? d.numRuns : null, ms });
    allRuns += d.numRuns;
    allMs += ms;
  }
  const stepsPerRun = steps / runsTotal;
  const ok = await fc.check(property('v4.13'), { seed: 7, numRuns: correctRuns, endOnFailure: true });
  return {
    race: 'cow-two-pages',
    variant: 'range-end-only',
    cap,
    campaigns,
    runs: summarize(per.map((p) => p.runs)),
    ms: summarize(per.map((p) => (p.runs === null ? null : p.ms))),
    stepsPerRun,
    runsPerSec: (allRuns / allMs) * 1000,
    correct: { runs: ok.numRuns, failures: ok.failed ? 1 : 0 },
    perCampaign: per,
  };
}
