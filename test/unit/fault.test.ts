import assert from 'node:assert/strict';
import { assertInOrder, compile, labels, labelsOf, oracles, readValues, replay, rows, stepOf } from './helpers.ts';
import { AmdIommuV2, Device } from '../../sim/model/iommu.ts';

/**
 * handle_mm_fault paths (sim/kernel/fault.ts), driven through whole runs with no preemption.
 * Expected labels and values are read off the kernel path code.
 */

const AMD_FLUSH = new AmdIommuV2('amd-v2', 1, [new Device(0, 'd', true, 1)]).flushLabel;

/** One COW page A = [1,2,3,4]; cpu0 writes A[0] := 7 then reads A[0] and A[1]. */
function cowScenario() {
  return compile({
    name: 'cow',
    world: { frames: 8 },
    pages: { A: { cells: [1, 2, 3, 4], cow: true } },
    threads: [{ name: 'cpu0', on: 'cpu', ops: [['write', 'A', 0, 7], ['read', 'A', 0], ['read', 'A', 1]] }],
  });
}

const COW_PATH_HEAD = [
  'cpu store: page fault',
  'do_page_fault: down_read(mmap_sem)',
  'handle_pte_fault',
  'handle_pte_fault: spin_lock(ptl)',
  'do_wp_page: get_page + pte_unmap_unlock',
  'wp_page_copy: alloc_page + cow_user_page',
  'mmu_notifier_invalidate_range_start',
  'wp_page_copy: pte_offset_map_lock',
];
const COW_PATH_TAIL = [
  'set_pte_at_notify + page_remove_rmap(old_page)',
  'pte_unmap_unlock',
];

describe('kernel/fault: handle_mm_fault', () => {
  describe('do_wp_page → wp_page_copy on a COW page', () => {
    it('v4.13: ptep_clear_flush_notify under the PT lock, range_end, then the store lands in the new page', () => {
      const r = replay(cowScenario(), 'v4.13');
      assert.deepEqual(r.violations, []);
      const ls = labelsOf(r, 'cpu0');
      assertInOrder(ls, [
        ...COW_PATH_HEAD,
        'ptep_clear_flush_notify',
        ...COW_PATH_TAIL,
        'mmu_notifier_invalidate_range_end',
        'wp_page_copy: put_page(old_page) ×2',
        'do_page_fault: up_read(mmap_sem)',
        'cpu store',
        'cpu load',
        'cpu load',
      ]);
      assert.ok(!ls.includes('ptep_clear_flush'));
      // ptep_clear_flush_notify flushes the CPU TLB and the IOMMU in the same step.
      const clear = rows(r).find((x) => x.label === 'ptep_clear_flush_notify')!;
      assert.ok(clear.effects.includes('flush_tlb A'), clear.effects);
      assert.ok(clear.effects.includes(AMD_FLUSH), clear.effects);
    });

    it('range-end-only: plain ptep_clear_flush (no secondary flush in that step)', () => {
      const r = replay(cowScenario(), 'range-end-only');
      assert.deepEqual(r.violations, []);
      const ls = labelsOf(r, 'cpu0');
      assertInOrder(ls, [...COW_PATH_HEAD, 'ptep_clear_flush', ...COW_PATH_TAIL, 'mmu_notifier_invalidate_range_end']);
      assert.ok(!ls.includes('ptep_clear_flush_notify'));
      const clear = rows(r).find((x) => x.label === 'ptep_clear_flush')!;
      assert.ok(clear.effects.includes('flush_tlb A'), clear.effects);
      assert.ok(!clear.effects.includes(AMD_FLUSH), clear.effects);
      // the secondary flush comes from range_end instead
      const end = rows(r).find((x) => x.label === 'mmu_notifier_invalidate_range_end')!;
      assert.ok(end.effects.includes(AMD_FLUSH), end.effects);
    });

    it('v4.15: range_end is the _only_end form (cow.rangeEnd = only-end)', () => {
      const r = replay(cowScenario(), 'v4.15');
      assert.deepEqual(r.violations, []);
      const ls = labelsOf(r, 'cpu0');
      assertInOrder(ls, [...COW_PATH_HEAD, 'ptep_clear_flush_notify', ...COW_PATH_TAIL, 'mmu_notifier_invalidate_range_only_end']);
      assert.ok(!ls.includes('mmu_notifier_invalidate_range_end'));
    });

    it('the new page is a copy: the written cell reads back 7, the others keep the old content', () => {
      for (const v of ['v4.13', 'range-end-only', 'v4.15', 'v4.11']) {
        const r = replay(cowScenario(), v);
        assert.deepEqual(oracles(r), [], v);
        assert.deepEqual(readValues(r, 'cpu0'), [
          { page: 'A', cell: 0, value: 7 },
          { page: 'A', cell: 1, value: 2 },
        ], v);
      }
    });

    it('the old page stays mapped by the other mm: the new page is a fresh frame', () => {
      const r = replay(cowScenario(), 'v4.13');
      const alloc = rows(r).find((x) => x.label === 'wp_page_copy: alloc_page + cow_user_page')!;
      // frame 0 is the zero page, frame 1 holds A: the copy goes to the lowest free frame, 2.
      assert.match(alloc.effects, /new frame 2 \(copy of 1\)/);
      const store = rows(r).find((x) => x.label === 'cpu store')!;
      assert.match(store.effects, /A\[0\] := 7 in frame 2/);
    });

    it('a second write to the copied page does not fault again', () => {
      const sc = compile({
        name: 'cow2',
        pages: { A: { cow: true } },
        threads: [{ name: 'cpu0', on: 'cpu', ops: [['write', 'A', 0, 1], ['write', 'A', 1, 2]] }],
      });
      const r = replay(sc, 'v4.13');
      assert.deepEqual(r.violations, []);
      assert.equal(labels(r).filter((l) => l === 'cpu store: page fault').length, 1);
      assert.equal(labels(r).filter((l) => l === 'cpu store').length, 2);
    });
  });

  describe('do_anonymous_page and the zero page', () => {
    /** A is zapped (PTE none), then cpu0 reads it (zero page) and writes it (COW of the zero page). */
    function zeroScenario() {
      return compile({
        name: 'zero',
        pages: { A: { cells: [5, 5, 5, 5] } },
        threads: [
          { name: 'k0', on: 'kernel', ops: [['zap', 'A']] },
          { name: 'cpu0', on: 'cpu', ops: [['read', 'A', 0], ['write', 'A', 1, 3], ['read', 'A', 1], ['read', 'A', 0]] },
        ],
      });
    }

    it('a read fault on a none PTE maps the zero page read-only; a write then copies it (zeroed)', () => {
      const r = replay(zeroScenario(), 'v4.13');
      assert.deepEqual(r.violations, []);
      assertInOrder(labelsOf(r, 'cpu0'), [
        'cpu load: page fault',
        'handle_pte_fault',
        'do_anonymous_page: pte_offset_map_lock',
        'do_anonymous_page: set_pte_at(zero page)',
        'cpu load',
        'cpu store: page fault',
        'do_wp_page: get_page + pte_unmap_unlock',
        'wp_page_copy: alloc_zeroed_user_highpage_movable',
        'ptep_clear_flush_notify',
        'set_pte_at_notify + page_remove_rmap(old_page)',
        'cpu store',
      ]);
      // the zero page is never put: no put_page(old_page) step
      assert.ok(!labelsOf(r, 'cpu0').includes('wp_page_copy: put_page(old_page) ×2'));
      assert.deepEqual(readValues(r, 'cpu0'), [
        { page: 'A', cell: 0, value: 0 },
        { page: 'A', cell: 1, value: 3 },
        { page: 'A', cell: 0, value: 0 },
      ]);
      const zeroMap = rows(r).find((x) => x.label === 'do_anonymous_page: set_pte_at(zero page)')!;
      assert.match(zeroMap.effects, /none → frame 0 ro/);
    });

    it('a write fault on a none PTE allocates a zeroed page, writable and dirty', () => {
      const sc = compile({
        name: 'anon-write',
        pages: { A: { cells: [5, 5, 5, 5] } },
        threads: [
          { name: 'k0', on: 'kernel', ops: [['zap', 'A']] },
          { name: 'cpu0', on: 'cpu', ops: [['write', 'A', 2, 9], ['read', 'A', 2], ['read', 'A', 3]] },
        ],
      });
      const r = replay(sc, 'v4.13');
      assert.deepEqual(r.violations, []);
      assertInOrder(labelsOf(r, 'cpu0'), [
        'cpu store: page fault',
        'handle_pte_fault',
        'do_anonymous_page: alloc_zeroed_user_highpage_movable',
        'do_anonymous_page: pte_offset_map_lock',
        'do_anonymous_page: page_add_new_anon_rmap + set_pte_at',
        'pte_unmap_unlock',
        'do_page_fault: up_read(mmap_sem)',
        'cpu store',
      ]);
      const set = rows(r).find((x) => x.label === 'do_anonymous_page: page_add_new_anon_rmap + set_pte_at')!;
      assert.match(set.effects, /none → frame \d+ rw D sd/);
      assert.deepEqual(readValues(r, 'cpu0'), [
        { page: 'A', cell: 2, value: 9 },
        { page: 'A', cell: 3, value: 0 },
      ]);
    });
  });

  describe('wp_page_reuse', () => {
    it('a write fault on an exclusive read-only page upgrades the PTE in place (no copy)', () => {
      // clear-refs write-protects A; cpu0's store then faults and reuses the page.
      const sc = compile({
        name: 'reuse',
        pages: { A: { cells: [1, 1, 1, 1] } },
        threads: [
          { name: 'k0', on: 'kernel', ops: [['clear-refs']] },
          { name: 'cpu0', on: 'cpu', ops: [['write', 'A', 0, 4], ['read', 'A', 0]] },
        ],
      });
      const r = replay(sc, 'v4.13');
      assert.deepEqual(r.violations, []);
      const ls = labelsOf(r, 'cpu0');
      assertInOrder(ls, ['cpu store: page fault', 'handle_pte_fault: spin_lock(ptl)', 'wp_page_reuse: ptep_set_access_flags', 'pte_unmap_unlock', 'cpu store']);
      assert.ok(!ls.some((l) => l.startsWith('wp_page_copy')), 'no copy');
      const reuse = rows(r).find((x) => x.label === 'wp_page_reuse: ptep_set_access_flags')!;
      assert.match(reuse.effects, /A: read-only → frame 1 rw D sd/);
      assert.deepEqual(readValues(r, 'cpu0'), [{ page: 'A', cell: 0, value: 4 }]);
    });
  });

  describe('do_swap_page', () => {
    it('a read fault on a swapped page reads the slot into a new frame, mapped read-only', () => {
      const sc = compile({
        name: 'swapin',
        pages: { A: { cells: [6, 7, 8, 9], swapped: true } },
        threads: [{ name: 'cpu0', on: 'cpu', ops: [['read', 'A', 3], ['read', 'A', 0]] }],
      });
      const r = replay(sc, 'v4.13');
      assert.deepEqual(r.violations, []);
      assertInOrder(labelsOf(r, 'cpu0'), [
        'cpu load: page fault',
        'handle_pte_fault',
        'do_swap_page: swapin_readahead',
        'do_swap_page: lock_page',
        'do_swap_page: pte_offset_map_lock',
        'do_swap_page: page_add_anon_rmap + set_pte_at + swap_free',
        'pte_unmap_unlock',
        'cpu load',
        'cpu load',
      ]);
      const set = rows(r).find((x) => x.label === 'do_swap_page: page_add_anon_rmap + set_pte_at + swap_free')!;
      assert.match(set.effects, /swap → frame 1 ro sd/);
      assert.deepEqual(readValues(r, 'cpu0'), [
        { page: 'A', cell: 3, value: 9 },
        { page: 'A', cell: 0, value: 6 },
      ]);
    });

    it('a write fault on a swapped exclusive page maps it writable at once (reuse_swap_page)', () => {
      const sc = compile({
        name: 'swapin-w',
        pages: { A: { cells: [6, 7, 8, 9], swapped: true } },
        threads: [{ name: 'cpu0', on: 'cpu', ops: [['write', 'A', 1, 0], ['read', 'A', 1], ['read', 'A', 2]] }],
      });
      const r = replay(sc, 'v4.13');
      assert.deepEqual(r.violations, []);
      const ls = labelsOf(r, 'cpu0');
      assert.equal(ls.filter((l) => l === 'cpu store: page fault').length, 1, 'one fault suffices');
      assert.ok(!ls.some((l) => l.startsWith('wp_page')), 'no do_wp_page after the swap-in');
      const set = rows(r).find((x) => x.label === 'do_swap_page: page_add_anon_rmap + set_pte_at + swap_free')!;
      assert.match(set.effects, /swap → frame 1 rw D sd/);
      assert.deepEqual(readValues(r, 'cpu0'), [
        { page: 'A', cell: 1, value: 0 },
        { page: 'A', cell: 2, value: 8 },
      ]);
    });
  });

  it('each fault runs handle_pte_fault between down_read and up_read of mmap_sem', () => {
    const r = replay(cowScenario(), 'v4.13');
    const down = stepOf(r, 'do_page_fault: down_read(mmap_sem)');
    const h = stepOf(r, 'handle_pte_fault');
    const up = stepOf(r, 'do_page_fault: up_read(mmap_sem)');
    assert.ok(down >= 0 && down < h && h < up, `${down} < ${h} < ${up}`);
  });

  describe('do_wp_page → reuse_swap_page and reclaim, both on a swap-cache page', () => {
    // A starts swapped out; cpu0 reads it (swap-in: A maps frame 1 read-only, frame 1 stays in the
    // swap cache), then writes it: the write fault takes the PT lock and is about to reuse frame 1.
    // k0's reclaim isolates frame 1 and takes its page lock (trylock_page), opens its range, and
    // waits for the PT lock. cpu0 finishes the write (5) into frame 1; k0 unmaps A (swap PTE);
    // cpu1 faults on the swap PTE before k0's pageout. Thread ids: cpu0 0, k0 1, cpu1 2 (no IOMMU).
    const sc = compile({
      name: 'wp-reuse-vs-reclaim',
      world: { iommu: 'none' },
      pages: { A: { cells: [1, 2, 3, 4], swapped: true } },
      threads: [
        { name: 'cpu0', on: 'cpu', ops: [['read', 'A', 0], ['write', 'A', 0, 5]] },
        { name: 'k0', on: 'kernel', ops: [['reclaim', 'A']] },
        { name: 'cpu1', on: 'cpu', ops: [['read', 'A', 0]] },
      ],
    });
    const DECISIONS = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 1];

    it('the schedule interleaves as described', () => {
      const r = replay(sc, 'v4.13', DECISIONS);
      const seq = rows(r).map((x) => `${r.threadNames[x.thread]}: ${x.label}`);
      const at = (s: string, from = 0) => seq.indexOf(s, from);
      const ptl = at('cpu0: handle_pte_fault: spin_lock(ptl)');
      const isolate = at('k0: shrink_page_list: isolate_lru_page + trylock_page');
      const trylockFailed = at('cpu0: do_wp_page: trylock_page failed, get_page + pte_unmap_unlock');
      const unmap = at('k0: try_to_unmap_one: set_pte_at(swp_pte) + page_remove_rmap');
      // k0 took PG_locked first: cpu0's trylock_page fails, it drops the PT lock and waits in
      // lock_page while reclaim unmaps A; nothing reuses the page under reclaim's feet.
      assert.ok(ptl >= 0 && ptl < isolate && isolate < trylockFailed && trylockFailed < unmap, seq.join('\n'));
      assert.match(rows(r)[isolate].effects, /frame 1 isolated and locked/);
    });

    // Was a bug (fixed: the trylock and the reuse are now one step): doWpPage checked `frames.lockOwner[old] !== -1` (trylock_page) in the
    // step that took the PT lock but, when the page is unlocked, does not take PG_locked; the
    // wp_page_reuse step (reuse_swap_page: `backing.swapCache[p] = -1`, refcount--) comes one step
    // later. Reclaim's trylock_page (not under the PT lock) slips in between, so reuse_swap_page
    // deletes from the swap cache a page that reclaim holds locked and has already counted as in the
    // swap cache (it skips add_to_swap). Reclaim then installs a swap PTE for a page that is in no
    // swap cache, and cpu1's do_swap_page misses the cache and reads the slot before pageout wrote
    // it: cpu1 reads A[0] = 1 after cpu0 wrote 5 → stale-read, and lost-write at the end, under
    // v4.13 with no IOMMU at all. In the kernel trylock_page() *takes* PG_locked and holds it over
    // reuse_swap_page(), so reclaim's trylock_page() fails (or do_wp_page waits in lock_page()).
    // Found by random scenarios: kvm + arm-smmu-v3 + reclaim + device write (lost-write under v4.13).
    it('reuse_swap_page never runs on a page reclaim holds locked: no stale read, no lost write', () => {
      const r = replay(sc, 'v4.13', DECISIONS);
      assert.deepEqual(r.violations, []);
    });
  });
});

