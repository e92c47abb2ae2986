import assert from 'node:assert/strict';
import { assertInOrder, compile, labelsOf, oracles, readValues, replay, rows } from './helpers.ts';

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
