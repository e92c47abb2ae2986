import assert from 'node:assert/strict';
import { compile, labelsOf, oracles, sitesOf } from './helpers.ts';
import { PlanChooser, keepWorld, type Segment } from './plan.ts';
import { runOnce } from '../../sim/run.ts';
import { exhaustive } from '../../sim/schedule/exhaustive.ts';
import { PteKind } from '../../sim/model/pageTable.ts';
import type { ScenarioInput } from '../../sim/scenario/schema.ts';
import { catalogEntry } from '../../sim/scenario/catalog.ts';
import { ReplayChooser } from '../../sim/schedule/replay.ts';

/**
 * KSM (mm/ksm.c try_to_merge_one_page, v4.10–v6.6): set_page_stable_node(page, NULL) runs right
 * after write_protect_page() succeeded, still under the page lock, so a write fault on P after that
 * point copies (do_wp_page: "PageAnon && !PageKsm"; reuse_swap_page() refuses PageKsm for a fault
 * that slept in lock_page). The model used to mark the page KSM only after the whole merge, and a
 * PRI write fault in between reused P's page — the page Q was about to map — so every preset
 * reported lost-write on a merge the kernel does safely.
 */
const devWritesP: ScenarioInput = {
  name: 'ksm-device-writes-p',
  pages: { A: { cells: [7, 0, 0, 0] }, B: { cells: [7, 0, 0, 0] } },
  devices: [{ name: 'dev0', ats: true }],
  threads: [
    { name: 'dev0', on: 'device:dev0', ops: [['write', 'A', 0, 9], ['read', 'A', 0]] },
    { name: 'k0', on: 'kernel', ops: [['ksm-merge', 'A', 'B']] },
  ],
};

function run(input: ScenarioInput, variant: string, plan: Segment[]) {
  const sc = compile(input);
  const kept = keepWorld();
  const chooser = new PlanChooser(plan);
  const r = runOnce(sc, sitesOf(variant), chooser, { trace: true, observer: kept.observer });
  return { r, w: kept.world(), reached: chooser.reached };
}

const AFTER_WRITE_PROTECT_P = /^mmu_notifier_invalidate_range(_only)?_end$/;

describe('kernel/ksm: P becomes PageKsm under the page lock (try_to_merge_one_page)', () => {
  for (const variant of ['v4.10', 'v4.13', 'v4.15', 'v6.6']) {
    it(`${variant}: a PRI write fault after set_page_stable_node copies P; nothing is lost`, () => {
      const { r, w, reached } = run(devWritesP, variant, [
        { thread: 'k0', until: 'set_page_stable_node' },
        { thread: 'dev0', until: 'ATS translation fault' },
        { thread: 'iommu-fault' },
        { thread: 'dev0' },
      ]);
      assert.equal(reached.length, 2, `the plan happened: ${reached.join(' | ')}`);
      const fault = labelsOf(r, 'iommu-fault');
      assert.ok(fault.includes('wp_page_copy: alloc_page + cow_user_page'), fault.join('\n'));
      assert.ok(!fault.some((l) => l.startsWith('wp_page_reuse')), 'a KSM page is never reused');
      assert.deepEqual(oracles(r), []);
      // A maps its private copy with the device's write; B maps the KSM page with the old content.
      const a = w.pt.frame[0];
      const b = w.pt.frame[1];
      assert.notEqual(a, b);
      assert.equal(w.frames.read(a, 0), 9);
      assert.equal(w.frames.read(b, 0), 7);
      assert.equal(w.frames.ksm[b], 1);
      assert.equal(w.frames.ksm[a], 0);
    });

    it(`${variant}: a fault that slept in lock_page while ksmd held P's page lock finds it KSM and copies`, () => {
      const { r, reached } = run(devWritesP, variant, [
        { thread: 'k0', until: AFTER_WRITE_PROTECT_P },
        { thread: 'dev0', until: 'ATS translation fault' },
        { thread: 'iommu-fault', until: 'trylock_page failed' },
        // ksmd gets only as far as unlocking P's page; then the sleeper wakes and finishes first.
        { thread: 'k0', until: 'try_to_merge_one_page: unlock_page' },
        { thread: 'iommu-fault' },
        { thread: 'dev0' },
      ]);
      assert.equal(reached.length, 4, `the plan happened: ${reached.join(' | ')}`);
      const fault = labelsOf(r, 'iommu-fault');
      const slept = fault.indexOf('do_wp_page: trylock_page failed, get_page + pte_unmap_unlock');
      const copied = fault.indexOf('wp_page_copy: alloc_page + cow_user_page');
      assert.ok(slept >= 0 && copied > slept, fault.join('\n'));
      assert.ok(!fault.some((l) => l.startsWith('wp_page_reuse')));
      const k0 = labelsOf(r, 'k0');
      assert.ok(k0.indexOf('try_to_merge_one_page: set_page_stable_node(page, NULL) + SetPageDirty (page locked)') < k0.indexOf('try_to_merge_one_page: unlock_page'));
      assert.deepEqual(oracles(r), []);
    });
  }

  it('exhaustive within 2 preemptions: every schedule clean under v4.10, v4.11, v4.13, v4.15 and v6.6', () => {
    const sc = compile(devWritesP);
    for (const variant of ['v4.10', 'v4.11', 'v4.13', 'v4.15', 'v6.6']) {
      const res = exhaustive(sc, sitesOf(variant), { bound: 2, reduction: true, stopAtFirst: false, maxSchedules: 5000 });
      assert.equal(res.complete, true, variant);
      assert.deepEqual(res.verdicts, [''], `${variant}: every schedule is clean`);
    }
  });
});

describe('kernel/ksm: try_to_merge_two_pages → break_cow when the second merge fails', () => {
  // Q changes after unstable_tree_search_insert compared the pages: pages_identical() fails, P is
  // left a KSM page with one PTE, and break_cow() write-faults it back into an ordinary page.
  const qChanges: ScenarioInput = {
    name: 'ksm-q-changes',
    pages: { A: { cells: [7, 0, 0, 0] }, B: { cells: [7, 0, 0, 0] } },
    threads: [
      { name: 'k0', on: 'kernel', ops: [['ksm-merge', 'A', 'B']] },
      { name: 'cpu0', on: 'cpu', ops: [['write', 'B', 0, 8]] },
    ],
  };

  it('P is copied back to an anonymous page, the KSM page is freed, contents kept', () => {
    const { r, w, reached } = run(qChanges, 'v4.13', [
      { thread: 'k0', until: 'set_page_stable_node' },
      { thread: 'cpu0' },
      { thread: 'k0' },
    ]);
    assert.equal(reached.length, 1);
    const k0 = labelsOf(r, 'k0');
    const cmp = k0.indexOf('try_to_merge_one_page: pages_identical');
    const brk = k0.indexOf('break_cow: down_read(mmap_sem) + find_mergeable_vma');
    assert.ok(cmp >= 0 && brk > cmp, k0.join('\n'));
    assert.ok(k0.indexOf('wp_page_copy: alloc_page + cow_user_page') > brk, 'break_ksm → handle_mm_fault(FAULT_FLAG_WRITE) copies');
    assert.ok(!k0.includes('replace_page: pte_offset_map_lock'));
    assert.equal(w.pt.kind[0], PteKind.Present);
    const a = w.pt.frame[0];
    assert.equal(w.frames.ksm[a], 0, 'A maps an ordinary page again');
    assert.equal(w.pt.write[0], 1);
    assert.equal(w.frames.read(a, 0), 7);
    assert.equal(w.frames.read(w.pt.frame[1], 0), 8);
    // The old KSM page had only ksmd's reference left: ksm_do_scan's put_page freed it.
    const freed = [...w.frames.ksm.keys()].filter((f) => w.frames.ksm[f] === 1 && w.frames.free[f] === 0);
    assert.deepEqual(freed, [], 'no KSM page survives');
    assert.deepEqual(oracles(r), []);
  });

  it('without a change both pages end up mapping the same read-only KSM page', () => {
    const { r, w } = run({ ...qChanges, threads: [qChanges.threads[0]] }, 'v4.13', []);
    assert.deepEqual(oracles(r), []);
    assert.equal(w.pt.frame[0], w.pt.frame[1]);
    assert.equal(w.frames.ksm[w.pt.frame[0]], 1);
    assert.equal(w.frames.mapcount[w.pt.frame[0]], 2);
    assert.equal(w.pt.write[0] + w.pt.write[1], 0);
    assert.ok(!labelsOf(r, 'k0').some((l) => l.startsWith('break_cow')));
  });
});

/**
 * write_protect_page()'s `|| mm_tlb_flush_pending(mm)` (★ ksm.flushPending; "mm: fix KSM data
 * corruption", Minchan Kim, 2017, with clear_refs under tlb_gather_mmu): Nadav Amit's race, on the
 * catalog scenario ksm-stale-tlb. The recorded schedule: k2's first clear_refs (VM_SOFTDIRTY pass),
 * cpu0's write fault caches a writable dirty TLB entry for A, MADV_FREE cleans A's PTE and k2's second
 * clear_refs write-protects it (both flushes still owed), ksmd merges A and B, cpu0 writes A through
 * its stale entry — into the KSM page B now maps — and cpu1 reads B.
 */
describe('kernel/ksm: write_protect_page and a pending TLB flush (mm_tlb_flush_pending)', () => {
  const STALE_TLB_SCHEDULE = [
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 0, 4, 4, 4, 4, 4, 4, 4, 4, 1, 2, 2, 2,
  ];
  const sc = compile(catalogEntry('ksm-stale-tlb')!.scenario);
  for (const variant of ['v4.10', 'v4.11']) {
    it(`${variant} (no mm_tlb_flush_pending test): the read-only clean PTE is taken as is and B reads cpu0's write to A`, () => {
      const r = runOnce(sc, sitesOf(variant), new ReplayChooser(STALE_TLB_SCHEDULE), { trace: true });
      assert.ok(labelsOf(r, 'ksmd').includes('write_protect_page: already read-only and clean'));
      assert.ok(oracles(r).includes('stale-read'), oracles(r).join(', '));
    });
  }
  for (const variant of ['v4.13', 'v4.15', 'v6.6']) {
    it(`${variant}: an mmu_gather in flight makes write_protect_page clear and flush A first; nothing is seen`, () => {
      const r = runOnce(sc, sitesOf(variant), new ReplayChooser(STALE_TLB_SCHEDULE), { trace: true });
      assert.ok(!labelsOf(r, 'ksmd').includes('write_protect_page: already read-only and clean'));
      assert.deepEqual(oracles(r), []);
    });
  }
});
