import assert from 'node:assert/strict';
import { assertInOrder, compile, labelsOf, oracles, readValues, replay, rows, sitesOf } from './helpers.ts';
import { exhaustive } from '../../sim/schedule/exhaustive.ts';

/** migrate_pages (sim/kernel/migrate.ts): migration entry, copy, remove_migration_ptes, free. */

describe('kernel/migrate', () => {
  it('moves A to a new frame through a migration entry, then reads back the same data', () => {
    const sc = compile({
      name: 'mig',
      world: { iommu: 'none' },
      pages: { A: { cells: [1, 2, 3, 4] } },
      threads: [
        { name: 'k0', on: 'kernel', ops: [['migrate', 'A']] },
        { name: 'cpu0', on: 'cpu', ops: [['read', 'A', 3], ['write', 'A', 0, 9], ['read', 'A', 0]] },
      ],
    });
    const r = replay(sc, 'v4.13');
    assert.deepEqual(r.violations, []);
    assertInOrder(labelsOf(r, 'k0'), [
      'migrate_pages: isolate_lru_page',
      '__unmap_and_move: lock_page + get_new_page',
      'mmu_notifier_invalidate_range_start',
      'try_to_unmap_one: ptep_clear_flush + set_pte_at(migration entry) + page_remove_rmap',
      'mmu_notifier_invalidate_range',
      'mmu_notifier_invalidate_range_end',
      'migrate_page_move_mapping + migrate_page_copy',
      'remove_migration_pte: set_pte_at + page_add_anon_rmap',
      'migrate_pages: unlock_page + put_page(old), putback new',
    ]);
    const mig = rows(r).find((x) => x.label === 'try_to_unmap_one: ptep_clear_flush + set_pte_at(migration entry) + page_remove_rmap')!;
    assert.match(mig.effects, /A → migration:1/);
    const restore = rows(r).find((x) => x.label === 'remove_migration_pte: set_pte_at + page_add_anon_rmap')!;
    assert.match(restore.effects, /A → frame 2/);
    assert.deepEqual(readValues(r, 'cpu0'), [
      { page: 'A', cell: 3, value: 4 },
      { page: 'A', cell: 0, value: 9 },
    ]);
  });

  describe('reclaim takes the new page between remove_migration_pte and the end of migration', () => {
    // k0 migrates A (frame 1 → frame 2) up to remove_migration_pte (A now maps frame 2); k1's
    // reclaim isolates frame 2 and unmaps it (swap PTE) while k0 finishes; cpu0 then reads A.
    // Thread ids: k0 0, k1 1, cpu0 2 (no IOMMU).
    const sc = compile({
      name: 'mig-reclaim',
      world: { iommu: 'none' },
      pages: { A: { cells: [1, 2, 3, 4] } },
      threads: [
        { name: 'k0', on: 'kernel', ops: [['migrate', 'A']] },
        { name: 'k1', on: 'kernel', ops: [['reclaim', 'A']] },
        { name: 'cpu0', on: 'cpu', ops: [['read', 'A', 0]] },
      ],
    });
    const DECISIONS = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 1];

    it('the schedule interleaves as described: reclaim finds the new page still locked by migration', () => {
      const r = replay(sc, 'v4.13', DECISIONS);
      const seq = rows(r).map((x) => `${r.threadNames[x.thread]}: ${x.label}`);
      const at = (s: string) => seq.indexOf(s);
      const mapped = at('k0: remove_migration_pte: set_pte_at + page_add_anon_rmap');
      const isolated = at('k1: shrink_page_list: isolate_lru_page + trylock_page');
      const done = at('k0: migrate_pages: unlock_page + put_page(old), putback new');
      assert.ok(mapped >= 0 && mapped < isolated && isolated < done, seq.join('\n'));
      // __unmap_and_move() keeps newpage locked until remove_migration_ptes() is done.
      assert.match(rows(r)[isolated].effects, /frame 2 is locked: keep/);
    });

    // Was a bug (fixed): migrate dropped the new page's reference a second time when reclaim had
    // unmapped it after remove_migration_pte, freeing a frame still in the swap cache.
    it('no frame is freed twice: cpu0 reads A[0] = 1', () => {
      const r = replay(sc, 'v4.13', DECISIONS);
      assert.deepEqual(oracles(r), []);
      assert.deepEqual(readValues(r, 'cpu0'), [{ page: 'A', cell: 0, value: 1 }]);
    });
  });
});

/**
 * Found by the generated-program self-check (explore --variant v6.6, program 70299, shrunk): clear_refs
 * runs while A is a writable migration entry, so only the entry's soft-dirty bit is cleared
 * (clear_soft_dirty: pte_swp_clear_soft_dirty); remove_migration_pte then maps the new page writable
 * and the CPU's store takes no fault. v4.10–v4.15 map it clean (pte_mkold(mk_pte()) + maybe_mkwrite),
 * so pagemap misses the store — the kernel's real behaviour. Since 2e3468778dbe (v6.1) the entry
 * remembers the dirty PTE and remove_migration_pte calls pte_mkdirty, which on x86 also sets
 * _PAGE_SOFT_DIRTY, so v6.6 reports A soft-dirty.
 */
describe('remove_migration_pte and soft-dirty (migrate.restoreDirty)', () => {
  const sc = compile({
    name: 'gen-70299',
    world: { frames: 6, cells: 3, iommu: 'none', kvm: true },
    pages: { A: { cells: [0, 0, 0] }, B: { cells: [0, 0, 0] } },
    threads: [
      { name: 'k0', on: 'kernel', ops: [['migrate', 'A']] },
      { name: 'cpu0', on: 'cpu', ops: [['write', 'A', 2, 2]] },
      { name: 'k1', on: 'kernel', ops: [['clear-refs'], ['pagemap', 'A']] },
    ],
  });
  const decisions = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 1, 1, 1, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 1, 1, 1];

  it('v4.15: a schedule misses the store (remove_migration_pte maps the page clean)', () => {
    const r = exhaustive(sc, sitesOf('v4.15'), { bound: 2, reduction: true, stopAtFirst: true, target: ['soft-dirty-missed'], maxSchedules: 200_000 });
    assert.ok(r.finding !== null, `no soft-dirty-missed within 2 preemptions (${r.schedules} schedules)`);
    const run = replay(sc, 'v4.15', r.finding.decisions);
    assert.ok(oracles(run).includes('soft-dirty-missed'));
    const restore = rows(run).find((x) => x.label === 'remove_migration_pte: set_pte_at + page_add_anon_rmap')!;
    assert.match(restore.effects, /A → frame \d+/);
  });

  it('v6.6: the entry remembered the dirty PTE, pte_mkdirty sets soft-dirty: nothing is missed', () => {
    const r = replay(sc, 'v6.6', decisions);
    assert.deepEqual(oracles(r), []);
  });

  it('v6.6: no schedule within 2 preemptions misses the store', () => {
    const r = exhaustive(sc, sitesOf('v6.6'), { bound: 2, reduction: true, stopAtFirst: true, maxSchedules: 200_000 });
    assert.equal(r.complete, true);
    assert.equal(r.finding, null);
    assert.ok(!r.verdicts.some((v) => v.includes('soft-dirty-missed')), `verdicts: ${r.verdicts.join(' | ')}`);
  });
});
