import assert from 'node:assert/strict';
import { parseVariantJson } from '../../sim/variants/resolve.ts';
import { SITES } from '../../sim/variants/sites.ts';
import { assertInOrder, compile, labels, labelsOf, readValues, replay, rows } from './helpers.ts';

/**
 * Reclaim (sim/kernel/reclaim.ts: shrink_page_list → try_to_unmap_one → pageout → __remove_mapping)
 * and MADV_FREE discard, run with no preemption.
 */

/** k0 reclaims A, then cpu0 reads A[2] back and writes A[1]. */
function swapOutIn() {
  return compile({
    name: 'swap',
    world: { frames: 8 },
    pages: { A: { cells: [1, 2, 3, 4] } },
    threads: [
      { name: 'k0', on: 'kernel', ops: [['reclaim', 'A']] },
      { name: 'cpu0', on: 'cpu', ops: [['read', 'A', 2], ['write', 'A', 1, 9], ['read', 'A', 1], ['read', 'A', 0]] },
    ],
  });
}

const UNMAP_V413 = [
  'shrink_page_list: isolate_lru_page + trylock_page',
  'add_to_swap',
  'mmu_notifier_invalidate_range_start',
  'try_to_unmap_one: page_vma_mapped_walk (pte_offset_map_lock)',
  'try_to_unmap_one: ptep_get_and_clear + set_tlb_ubc_flush_pending',
  'try_to_unmap_one: set_pte_at(swp_pte) + page_remove_rmap',
  'mmu_notifier_invalidate_range',
  'try_to_unmap_one: page_vma_mapped_walk_done (pte_unmap_unlock)',
  'mmu_notifier_invalidate_range_end',
  // the PTE was dirty: try_to_unmap_flush_dirty() before pageout() (mm/vmscan.c shrink_page_list)
  'try_to_unmap_flush: arch_tlbbatch_flush',
  'pageout: swap_writepage',
  // the batch is flushed already: the final try_to_unmap_flush() has nothing left, the free follows
  '__remove_mapping: page_ref_freeze + __delete_from_swap_cache + free_hot_cold_page_list',
];

describe('kernel/reclaim', () => {
  it('v4.13: reclaim swaps the page out (range bracket, deferred CPU flush, invalidate_range under the PT lock, flush before pageout, free)', () => {
    const r = replay(swapOutIn(), 'v4.13');
    assert.deepEqual(r.violations, []);
    assert.deepEqual(labelsOf(r, 'k0'), UNMAP_V413);
    const swp = rows(r).find((x) => x.label === 'try_to_unmap_one: set_pte_at(swp_pte) + page_remove_rmap')!;
    assert.match(swp.effects, /A → swap:A/);
    const free = rows(r).find((x) => x.label.startsWith('__remove_mapping'))!;
    assert.match(free.effects, /frame 1 freed/);
  });

  it('then a CPU read swaps it back in (do_swap_page) with every value preserved', () => {
    const r = replay(swapOutIn(), 'v4.13');
    assert.deepEqual(r.violations, [], 'no stale-read, no lost-write');
    assertInOrder(labels(r), ['pageout: swap_writepage', 'cpu load: page fault', 'do_swap_page: swapin_readahead', 'do_swap_page: page_add_anon_rmap + set_pte_at + swap_free', 'cpu load']);
    assert.deepEqual(readValues(r, 'cpu0'), [
      { page: 'A', cell: 2, value: 3 },
      { page: 'A', cell: 1, value: 9 },
      { page: 'A', cell: 0, value: 1 },
    ]);
    // swapped in read-only: the write faults and reuses the page (exclusive) instead of copying it
    assertInOrder(labelsOf(r, 'cpu0'), ['cpu store: page fault', 'wp_page_reuse: ptep_set_access_flags', 'cpu store']);
  });

  it('v4.15: the under-PTL invalidate_range comes right after the PTE is cleared, before the swap entry', () => {
    const r = replay(swapOutIn(), 'v4.15');
    assert.deepEqual(r.violations, []);
    assertInOrder(labelsOf(r, 'k0'), [
      'mmu_notifier_invalidate_range_start',
      'try_to_unmap_one: ptep_get_and_clear + set_tlb_ubc_flush_pending',
      'mmu_notifier_invalidate_range',
      'try_to_unmap_one: set_pte_at(swp_pte) + page_remove_rmap',
      'try_to_unmap_one: page_vma_mapped_walk_done (pte_unmap_unlock)',
      'mmu_notifier_invalidate_range_end',
    ]);
  });

  it('unmap.notify=after-unlock without a range bracket (legacy): invalidate_page after pte_unmap_unlock', () => {
    const legacy = parseVariantJson({ base: 'v4.13', sites: { 'unmap.notify': 'after-unlock', 'unmap.rangeBracket': 'false' } }, 'legacy');
    const r = replay(swapOutIn(), legacy.sites);
    assert.deepEqual(r.violations, []);
    const ls = labelsOf(r, 'k0');
    assertInOrder(ls, [
      'try_to_unmap_one: ptep_get_and_clear + set_tlb_ubc_flush_pending',
      'try_to_unmap_one: set_pte_at(swp_pte) + page_remove_rmap',
      'try_to_unmap_one: page_vma_mapped_walk_done (pte_unmap_unlock)',
      'mmu_notifier_invalidate_page',
      'pageout: swap_writepage',
    ]);
    assert.ok(!ls.includes('mmu_notifier_invalidate_range_start'));
    assert.ok(!ls.includes('mmu_notifier_invalidate_range_end'));
    assert.ok(!ls.includes('mmu_notifier_invalidate_range'));
  });

  it('unmap.notify=page-under-ptl (v4.11–v4.12): invalidate_page inside the walk, before pte_unmap_unlock', function () {
    if (!(SITES['unmap.notify'].choices as readonly string[]).includes('page-under-ptl')) this.skip();
    const v = parseVariantJson({ base: 'v4.13', sites: { 'unmap.notify': 'page-under-ptl', 'unmap.rangeBracket': 'false' } }, 'v411');
    const r = replay(swapOutIn(), v.sites);
    assert.deepEqual(r.violations, []);
    const ls = labelsOf(r, 'k0');
    assertInOrder(ls, [
      'try_to_unmap_one: set_pte_at(swp_pte) + page_remove_rmap',
      'mmu_notifier_invalidate_page',
      'try_to_unmap_one: page_vma_mapped_walk_done (pte_unmap_unlock)',
    ]);
    assert.ok(!ls.includes('mmu_notifier_invalidate_range_start'));
  });

  it('range-end-only: no invalidate_range step of its own, only range_end', () => {
    const r = replay(swapOutIn(), 'range-end-only');
    assert.deepEqual(r.violations, []);
    const ls = labelsOf(r, 'k0');
    assert.ok(!ls.includes('mmu_notifier_invalidate_range'));
    assertInOrder(ls, ['mmu_notifier_invalidate_range_start', 'try_to_unmap_one: ptep_get_and_clear + set_tlb_ubc_flush_pending', 'mmu_notifier_invalidate_range_end']);
  });

  it('a clean page still in the swap cache is reclaimed without a second pageout, and reads back intact', () => {
    const sc = compile({
      name: 'swap2',
      pages: { A: { cells: [1, 2, 3, 4] } },
      threads: [
        { name: 'k0', on: 'kernel', ops: [['reclaim', 'A']] },
        { name: 'cpu0', on: 'cpu', ops: [['read', 'A', 2]] },
        { name: 'k1', on: 'kernel', ops: [['reclaim', 'A']] },
        { name: 'cpu1', on: 'cpu', ops: [['read', 'A', 0]] },
      ],
    });
    const r = replay(sc, 'v4.13');
    assert.deepEqual(r.violations, []);
    const k1 = labelsOf(r, 'k1');
    assert.ok(!k1.includes('add_to_swap'), 'already in the swap cache');
    assert.ok(!k1.includes('pageout: swap_writepage'), 'clean: no writeback');
    // clean PTE (swapped in read-only): no flush before pageout; the final try_to_unmap_flush() precedes the free
    assert.deepEqual(k1.slice(-3), ['__remove_mapping: page_ref_freeze + __delete_from_swap_cache', 'try_to_unmap_flush: arch_tlbbatch_flush', 'shrink_page_list: free_hot_cold_page_list']);
    assert.deepEqual(readValues(r, 'cpu1'), [{ page: 'A', cell: 0, value: 1 }]);
  });

  it('unmap.tlbBatch=flush (no batching, or no CPU ran the mm): ptep_clear_flush, no try_to_unmap_flush', () => {
    const v = parseVariantJson({ base: 'v4.13', sites: { 'unmap.tlbBatch': 'flush' } }, 'nobatch');
    const r = replay(swapOutIn(), v.sites);
    assert.deepEqual(r.violations, []);
    const ls = labelsOf(r, 'k0');
    assert.ok(ls.includes('try_to_unmap_one: ptep_clear_flush'));
    assert.ok(!ls.some((l) => l.startsWith('try_to_unmap_flush')));
    assert.equal(ls[ls.length - 1], '__remove_mapping: page_ref_freeze + __delete_from_swap_cache + free_hot_cold_page_list');
    const noCpu = compile({ name: 'nocpu', pages: { A: { cells: [1, 2, 3, 4] } }, threads: [{ name: 'k0', on: 'kernel', ops: [['reclaim', 'A']] }] });
    assert.ok(labelsOf(replay(noCpu, 'v4.13'), 'k0').includes('try_to_unmap_one: ptep_clear_flush'), 'should_defer_flush: no remote CPU in mm_cpumask');
  });

  it('reclaim of a page that is not mapped does nothing', () => {
    const sc = compile({
      name: 'noop',
      pages: { A: { swapped: true } },
      threads: [{ name: 'k0', on: 'kernel', ops: [['reclaim', 'A']] }],
    });
    const r = replay(sc, 'v4.13');
    assert.deepEqual(labelsOf(r, 'k0'), ['shrink_page_list: isolate_lru_page + trylock_page']);
    assert.match(rows(r)[0].effects, /no LRU page to reclaim/);
  });

  describe('MADV_FREE', () => {
    it('madvise-free then reclaim discards the clean page without writeback; the page reads as zero after', () => {
      const sc = compile({
        name: 'lazyfree',
        pages: { A: { cells: [5, 6, 7, 8] } },
        threads: [
          { name: 'k0', on: 'kernel', ops: [['madvise-free', 'A'], ['reclaim', 'A']] },
          { name: 'cpu0', on: 'cpu', ops: [['read', 'A', 0]] },
        ],
      });
      const r = replay(sc, 'v4.13');
      assert.deepEqual(r.violations, [], 'MADV_FREE content is not promised: no stale-read, no lost-write');
      const ls = labelsOf(r, 'k0');
      assertInOrder(ls, [
        'madvise(MADV_FREE): down_read(mmap_sem)',
        'madvise_free_pte_range',
        'madvise: up_read(mmap_sem)',
        'shrink_page_list: isolate_lru_page + trylock_page',
        'try_to_unmap_one: discard (clean MADV_FREE page) + page_remove_rmap',
        'shrink_page_list: lazyfree page_ref_freeze (free_pages)',
        'try_to_unmap_flush: arch_tlbbatch_flush',
        'shrink_page_list: free_hot_cold_page_list',
      ]);
      assert.ok(!ls.includes('add_to_swap'), 'a lazyfree page is not added to swap');
      assert.ok(!ls.includes('pageout: swap_writepage'));
      assertInOrder(labelsOf(r, 'cpu0'), ['cpu load: page fault', 'do_anonymous_page: set_pte_at(zero page)', 'cpu load']);
      assert.deepEqual(readValues(r, 'cpu0'), [{ page: 'A', cell: 0, value: 0 }]);
    });

    it('a clean COW page shared with the forked mm is still marked lazyfree: reclaim discards this mm\'s mapping, the other mapper keeps the page', () => {
      // madvise_free_pte_range reads page_mapcount only inside "if (PageSwapCache(page) ||
      // PageDirty(page))" (mm/madvise.c, 4.13.19): a clean page mapped by two mms is cleaned and
      // mark_page_lazyfree()d all the same. The model used to skip every shared page.
      const sc = compile({
        name: 'lazyfree-cow',
        pages: { A: { cells: [5, 6, 7, 8], cow: true } },
        threads: [
          { name: 'k0', on: 'kernel', ops: [['madvise-free', 'A'], ['reclaim', 'A']] },
          { name: 'cpu0', on: 'cpu', ops: [['read', 'A', 0]] },
        ],
      });
      const r = replay(sc, 'v4.13');
      assert.deepEqual(r.violations, [], 'MADV_FREE content is not promised');
      const free = rows(r).filter((x) => x.label.startsWith('madvise_free_pte_range')).map((x) => x.effects).join('; ');
      assert.match(free, /frame \d+ lazyfree/);
      const k0 = labelsOf(r, 'k0');
      assert.ok(!k0.includes('add_to_swap'), 'a lazyfree page is not added to swap');
      assertInOrder(k0, ['try_to_unmap_one: discard (clean MADV_FREE page) + page_remove_rmap', 'shrink_page_list: keep_locked (still mapped)']);
      assert.deepEqual(readValues(r, 'cpu0'), [{ page: 'A', cell: 0, value: 0 }]);
    });

    it('a shared page with PG_dirty set is left alone (page_mapcount != 1)', () => {
      // PG_dirty is one flag for every mapper: the KSM page of A and B (try_to_merge_one_page's
      // SetPageDirty) is dirty and mapped twice, so madvise_free_pte_range leaves it alone.
      const sc = compile({
        name: 'lazyfree-ksm-shared',
        pages: { A: { cells: [5, 6, 7, 8] }, B: { cells: [5, 6, 7, 8] } },
        threads: [
          { name: 'k0', on: 'kernel', ops: [['ksm-merge', 'A', 'B'], ['madvise-free', 'A'], ['reclaim', 'A']] },
          { name: 'cpu0', on: 'cpu', ops: [['read', 'A', 0]] },
        ],
      });
      const r = replay(sc, 'v4.13');
      assert.deepEqual(r.violations, []);
      const free = rows(r).filter((x) => x.label.startsWith('madvise_free_pte_range')).map((x) => x.effects).join('; ');
      assert.match(free, /skipped \(PG_dirty or swap cache, shared\)/);
      assert.doesNotMatch(free, /lazyfree/);
      assert.deepEqual(readValues(r, 'cpu0'), [{ page: 'A', cell: 0, value: 5 }]);
    });

    it('a write after madvise-free re-dirties the page: reclaim restores the PTE and keeps the data', () => {
      const sc = compile({
        name: 'redirty',
        pages: { A: { cells: [5, 6, 7, 8] } },
        threads: [
          { name: 'k0', on: 'kernel', ops: [['madvise-free', 'A']] },
          { name: 'cpu0', on: 'cpu', ops: [['write', 'A', 0, 1]] },
          { name: 'k1', on: 'kernel', ops: [['reclaim', 'A']] },
          { name: 'cpu1', on: 'cpu', ops: [['read', 'A', 0]] },
        ],
      });
      const r = replay(sc, 'v4.13');
      assert.deepEqual(r.violations, []);
      const k1 = labelsOf(r, 'k1');
      assertInOrder(k1, ['try_to_unmap_one: ptep_get_and_clear + set_tlb_ubc_flush_pending', 'try_to_unmap_one: set_pte_at(pteval) + SetPageSwapBacked (redirtied)', 'shrink_page_list: keep_locked (still mapped)']);
      assert.ok(!k1.some((l) => l.includes('discard')));
      assert.deepEqual(readValues(r, 'cpu1'), [{ page: 'A', cell: 0, value: 1 }]);
    });
  });
});

/**
 * Generated programs that found model bugs (the explore self-check of 0.5.0, docs/explore.md: model bugs MB-1, MB-2),
 * replayed on their recorded decisions. racefarm has one swap slot per virtual page; reclaim used to put
 * a page into P's slot although P no longer mapped it (COWed away meanwhile), or a KSM page mapped at two
 * addresses into both slots — P's swap entry then named a page that was not P's content.
 */
describe('reclaim: a page is only ever put into the swap slot of an address that maps it', () => {
  const cases: [string, Parameters<typeof compile>[0], number[], string][] = [
    [
      'MB-1: the isolated page was COWed away from B before add_to_swap (generated program 8380)',
      {
        name: 'gen-8380',
        pages: { B: { cells: [0, 0, 0, 0], cow: true } },
        devices: [{ name: 'dev0', ats: true }],
        threads: [
          { name: 'd0', on: 'device:dev0', ops: [['write', 'B', 0, 1]] },
          { name: 'k0', on: 'kernel', ops: [['reclaim', 'B']] },
          { name: 'k1', on: 'kernel', ops: [['reclaim', 'B']] },
        ],
      },
      [0, 3, 3, 3, 3, 3, 1, 3, 3, 3, 3, 3, 3, 3, 3, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2],
      'add_to_swap: page no longer mapped at P (its other mappers keep it), activate_locked',
    ],
    [
      'MB-2: the KSM page of A and B is reclaimed through A, then through B (generated program 1513)',
      {
        name: 'gen-1513',
        world: { cells: 1 },
        pages: { A: { cells: [0], swapped: true }, B: { cells: [0] } },
        devices: [{ name: 'dev0', ats: true }],
        threads: [
          { name: 'd0', on: 'device:dev0', ops: [['write', 'A', 0, 1]] },
          { name: 'k0', on: 'kernel', ops: [['ksm-merge', 'A', 'B'], ['reclaim', 'A'], ['reclaim', 'B']] },
        ],
      },
      [0, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
      'add_to_swap: page mapped at another address too (KSM), activate_locked',
    ],
  ];
  for (const [title, input, decisions, label] of cases) {
    for (const variant of ['v4.13', 'v4.15', 'v6.6']) {
      it(`${variant}: ${title}`, () => {
        const r = replay(compile(input), variant, decisions);
        assert.ok(labels(r).includes(label), labels(r).join('\n'));
        assert.deepEqual(r.violations.map((v) => `${v.oracle}: ${v.message}`), []);
      });
    }
  }
});

describe('do_swap_page: reuse_swap_page() refuses a KSM page (MB-3 in docs/explore.md, generated program 48663)', () => {
  // ksmd merges B into a KSM page while cpu0's COW of B and k0's reclaim of B (still mapping the KSM
  // page) race; the vCPU's write fault then swaps B in from the swap cache — the KSM page A maps too.
  // The model used to map it writable (exclusive by mapcount); the kernel maps it read-only and copies.
  const input: Parameters<typeof compile>[0] = {
    name: 'gen-48663',
    world: { cells: 3, iommu: 'none', kvm: true },
    pages: { A: { cells: [1, 0, 5] }, B: { cells: [1, 0, 5] } },
    threads: [
      { name: 'vcpu0', on: 'vcpu', ops: [['write', 'B', 0, 1]] },
      { name: 'k0', on: 'kernel', ops: [['reclaim', 'B']] },
      { name: 'k1', on: 'kernel', ops: [['ksm-merge', 'B', 'A']] },
      { name: 'cpu0', on: 'cpu', ops: [['write', 'B', 0, 2], ['read', 'A', 0]] },
    ],
  };
  const decisions = [
    0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0,
  ];
  for (const variant of ['v4.13', 'v4.15', 'v6.6']) {
    it(`${variant}: the KSM page comes back read-only, and nobody reads another page's write`, () => {
      const r = replay(compile(input), variant, decisions);
      assert.ok(!rows(r).some((x) => x.label === 'do_swap_page: page_add_anon_rmap + set_pte_at + swap_free' && / rw /.test(x.effects)), 'swapped in writable');
      assert.deepEqual(r.violations.map((v) => `${v.oracle}: ${v.message}`), []);
    });
  }
});

describe('madvise_free_pte_range: a page in another address\'s swap slot is left alone (MB-4 in docs/explore.md, generated program 50708)', () => {
  // ksmd makes B's page the KSM page; reclaim swaps it out through B before replace_page maps it at A
  // too; the vCPU swaps B back in (the KSM page, in B's slot, clean after pageout); MADV_FREE of A then
  // finds PageSwapCache set and page_mapcount 2 (or, before B's swap-in, try_to_free_swap failing on B's
  // swap entry) and continues. The model looked only at A's own slot, cleared the page and marked it
  // lazyfree, and the next reclaim of B discarded the page B had never MADV_FREEd: lost-write.
  const input: Parameters<typeof compile>[0] = {
    name: 'gen-50708',
    world: { frames: 16, cells: 4, iommu: 'none', kvm: true, maxSteps: 2000, maxRetries: 8 },
    pages: { A: { cells: [5, 2, 0, 0] }, B: { cells: [5, 2, 0, 0] } },
    threads: [
      { name: 'vcpu0', on: 'vcpu', ops: [['read', 'B', 0]] },
      { name: 'k0', on: 'kernel', ops: [['ksm-merge', 'B', 'A']] },
      { name: 'k1', on: 'kernel', ops: [['reclaim', 'B'], ['madvise-free', 'A'], ['reclaim', 'B']] },
    ],
  };
  // pct depth 3 seed 5's decisions (explore --variant v4.13 --programs 100000 --seed 0 at racefarm-sim 0.6.1, before the fix).
  const decisions = [
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1,
    1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 1,
  ];
  for (const variant of ['v4.13', 'v4.15', 'v6.6']) {
    it(`${variant}: MADV_FREE of A skips the swap-cache page, B keeps its data`, () => {
      const r = replay(compile(input), variant, decisions);
      const free = rows(r).filter((x) => x.label.startsWith('madvise_free_pte_range')).map((x) => x.effects).join('; ');
      assert.match(free, /skipped \((PG_dirty or swap cache, shared|try_to_free_swap: swap:B still references the slot)\)/);
      assert.ok(!labels(r).includes('try_to_unmap_one: discard (clean MADV_FREE page) + page_remove_rmap'), 'B discarded');
      assert.deepEqual(r.violations.map((v) => `${v.oracle}: ${v.message}`), []);
    });
  }
});

describe('do_swap_page: pte_same() sees the swap entry\'s soft-dirty bit (MB-5 in docs/explore.md, generated program 15238)', () => {
  // cpu0's read faults on swapped-out A and reads orig_pte (swap:A, soft-dirty cleared by clear_refs);
  // before it takes the PT lock the device faults A in, writes it (wp_page_reuse: soft-dirty), and
  // reclaim swaps it out again through the same slot (the page stayed in the swap cache): swap:A sd.
  // x86 pte_same() compares the whole pte, _PAGE_SWP_SOFT_DIRTY included, so cpu0's do_swap_page
  // backs out and refaults, and maps A soft-dirty. The model compared kind, frame and write only,
  // mapped A clean from the stale orig_pte, and pagemap reported the device's write missed.
  const input: Parameters<typeof compile>[0] = {
    name: 'gen-15238',
    world: { frames: 16, cells: 3, ptLock: 'per-page', iommu: 'amd-v2', kvm: false, maxSteps: 2000, maxRetries: 8 },
    pages: { A: { cells: [0, 0, 0], swapped: true }, B: { cells: [0, 0, 0] } },
    devices: [{ name: 'dev0', ats: true }],
    threads: [
      { name: 'd0', on: 'device:dev0', ops: [['read', 'A', 2], ['write', 'A', 0, 1]] },
      { name: 'k0', on: 'kernel', ops: [['clear-refs'], ['reclaim', 'A'], ['pagemap', 'A']] },
      { name: 'cpu0', on: 'cpu', ops: [['read', 'A', 0]] },
    ],
  };
  // pct depth 3 seed 10's decisions (explore --variant v6.6 --programs 100000 --seed 0 at racefarm-sim 0.6.3, before the fix).
  const decisions = [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 3, 3, 3, 3, 3, 3, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2];
  for (const variant of ['v4.13', 'v4.15', 'v6.6']) {
    it(`${variant}: the stale orig_pte makes do_swap_page back out and refault; no soft-dirty-missed`, () => {
      const r = replay(compile(input), variant, decisions);
      const cpu0 = labelsOf(r, 'cpu0');
      assert.equal(cpu0.filter((l) => l === 'cpu load: page fault').length, 2, `cpu0 backs out and refaults: ${JSON.stringify(cpu0)}`);
      assert.deepEqual(r.violations.map((v) => `${v.oracle}: ${v.message}`), []);
    });
  }
});
