import assert from 'node:assert/strict';
import { assertInOrder, compile, labelsOf, oracles, replay, rows } from './helpers.ts';

/** clear_refs (soft-dirty) and pagemap (sim/kernel/softDirty.ts) and the soft-dirty-missed oracle. */

function pagemapResults(r: ReturnType<typeof replay>): string[] {
  return rows(r)
    .filter((x) => x.label === 'pte_to_pagemap_entry')
    .map((x) => x.effects);
}

describe('kernel/softDirty: clear-refs and pagemap', () => {
  it('clear-refs (v4.13): tlb_gather_mmu, the VM_SOFTDIRTY pass under down_write, every present PTE write-protected and cleaned under its PT lock inside a range window, tlb_finish_mmu', () => {
    const sc = compile({
      name: 'cr',
      pages: { A: { cells: [1, 1, 1, 1] }, B: { cells: [2, 2, 2, 2] } },
      threads: [{ name: 'k0', on: 'kernel', ops: [['clear-refs']] }],
    });
    const r = replay(sc, 'v4.13');
    assert.deepEqual(r.violations, []);
    assert.deepEqual(labelsOf(r, 'k0'), [
      'clear_refs_write: down_read(mmap_sem) + tlb_gather_mmu',
      'clear_refs_write: up_read(mmap_sem) (a vma has VM_SOFTDIRTY)',
      'clear_refs_write: down_write(mmap_sem), vm_flags &= ~VM_SOFTDIRTY + vma_set_page_prot',
      'clear_refs_write: downgrade_write(mmap_sem)',
      'mmu_notifier_invalidate_range_start',
      'clear_refs_pte_range: pte_offset_map_lock',
      'clear_soft_dirty: ptep_modify_prot_start/commit (wrprotect, clear soft-dirty)',
      'pte_unmap_unlock',
      'clear_refs_pte_range: pte_offset_map_lock',
      'clear_soft_dirty: ptep_modify_prot_start/commit (wrprotect, clear soft-dirty)',
      'pte_unmap_unlock',
      'mmu_notifier_invalidate_range_end',
      'clear_refs_write: tlb_finish_mmu (fullmm: flush_tlb_mm_range TLB_FLUSH_ALL)',
      'clear_refs_write: up_read(mmap_sem)',
    ]);
    const cleared = rows(r).filter((x) => x.label.startsWith('clear_soft_dirty'));
    assert.match(cleared[0].effects, /A: frame \d+ ro D$/, 'A: read-only, soft-dirty clear');
    assert.match(cleared[1].effects, /B: frame \d+ ro D$/);
  });

  it('clear-refs (v4.10): flush_tlb_mm at the end; a second clear-refs finds no VM_SOFTDIRTY vma and stays under down_read', () => {
    const sc = compile({ name: 'cr2', pages: { A: {} }, threads: [{ name: 'k0', on: 'kernel', ops: [['clear-refs'], ['clear-refs']] }] });
    const r = replay(sc, 'v4.10');
    const ls = labelsOf(r, 'k0');
    assert.equal(ls.filter((l) => l.startsWith('clear_refs_write: down_write')).length, 1);
    assert.equal(ls.filter((l) => l === 'clear_refs_write: flush_tlb_mm').length, 2);
    assert.ok(!ls.some((l) => l.includes('tlb_gather_mmu') || l.includes('tlb_finish_mmu')));
  });

  it('the VM_SOFTDIRTY pass excludes a concurrent fault (down_write), the PTE walk does not (down_read after downgrade_write)', () => {
    const sc = compile({
      name: 'cr3',
      world: { iommu: 'none' },
      pages: { A: {}, B: { swapped: true } },
      threads: [
        { name: 'k0', on: 'kernel', ops: [['clear-refs']] },
        { name: 'cpu0', on: 'cpu', ops: [['read', 'B', 0]] },
      ],
    });
    // run k0 up to its down_write step, then cpu0: its fault must wait for downgrade_write.
    const r = replay(sc, 'v4.13', [0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    const seq = rows(r).map((x) => `${r.threadNames[x.thread]}: ${x.label}`);
    const down = seq.indexOf('k0: clear_refs_write: down_write(mmap_sem), vm_flags &= ~VM_SOFTDIRTY + vma_set_page_prot');
    const downgrade = seq.indexOf('k0: clear_refs_write: downgrade_write(mmap_sem)');
    const fault = seq.indexOf('cpu0: do_page_fault: down_read(mmap_sem)');
    assert.ok(down >= 0 && downgrade > down, seq.join('\n'));
    assert.ok(fault < down || fault > downgrade, `the fault's down_read (${fault}) is not between down_write (${down}) and downgrade_write (${downgrade})`);
  });

  it('no-clear-refs-invalidate: range_end does not call invalidate_range (the _only_end form)', () => {
    const sc = compile({ name: 'cr', pages: { A: {} }, threads: [{ name: 'k0', on: 'kernel', ops: [['clear-refs']] }] });
    const r = replay(sc, 'no-clear-refs-invalidate');
    const ls = labelsOf(r, 'k0');
    assert.ok(ls.includes('mmu_notifier_invalidate_range_only_end'));
    assert.ok(!ls.includes('mmu_notifier_invalidate_range_end'));
  });

  it('pagemap right after clear-refs reports clean, and that is no violation', () => {
    const sc = compile({
      name: 'clean',
      pages: { A: {} },
      threads: [{ name: 'k0', on: 'kernel', ops: [['clear-refs'], ['pagemap', 'A']] }],
    });
    const r = replay(sc, 'v4.13');
    assert.deepEqual(r.violations, []);
    assert.deepEqual(pagemapResults(r), ['A soft-dirty=0']);
  });

  it('initial pages are soft-dirty', () => {
    const sc = compile({ name: 'init', pages: { A: {} }, threads: [{ name: 'k0', on: 'kernel', ops: [['pagemap', 'A']] }] });
    assert.deepEqual(pagemapResults(replay(sc, 'v4.13')), ['A soft-dirty=1']);
  });

  it('clear-refs, then a CPU write (the write fault sets soft-dirty), then pagemap: dirty, no soft-dirty-missed', () => {
    const sc = compile({
      name: 'cpu-write',
      pages: { A: {} },
      threads: [
        { name: 'k0', on: 'kernel', ops: [['clear-refs']] },
        { name: 'cpu0', on: 'cpu', ops: [['write', 'A', 0, 1]] },
        { name: 'k1', on: 'kernel', ops: [['pagemap', 'A']] },
      ],
    });
    const r = replay(sc, 'v4.13');
    assert.deepEqual(r.violations, []);
    // the PTE was write-protected, so the store faults and wp_page_reuse sets soft-dirty
    assertInOrder(labelsOf(r, 'cpu0'), ['cpu store: page fault', 'wp_page_reuse: ptep_set_access_flags', 'cpu store']);
    assert.deepEqual(pagemapResults(r), ['A soft-dirty=1']);
  });

  describe('a device with a writable ATC entry writes after clear-refs returned', () => {
    // dev0 writes A (walk: the ATC gets a writable entry), k0 runs clear-refs to the end, dev0 writes
    // again, k1 reads pagemap. Thread ids: dev0 0, k0 1, k1 2, iommu-fault 3.
    const sc = compile({
      name: 'dev-write',
      pages: { A: {} },
      devices: [{ name: 'dev0' }],
      threads: [
        { name: 'dev0', on: 'device:dev0', ops: [['write', 'A', 0, 1], ['write', 'A', 0, 2]] },
        { name: 'k0', on: 'kernel', ops: [['clear-refs']] },
        { name: 'k1', on: 'kernel', ops: [['pagemap', 'A']] },
      ],
    });

    it('no-clear-refs-invalidate: the ATC entry survives, the write needs no fault → split-mapping and soft-dirty-missed', () => {
      // dev0's first write, then k0 (run to completion: a replay keeps the last thread running), then
      // with the record exhausted and k0 done, the lowest enabled thread: dev0, then k1.
      const r = replay(sc, 'no-clear-refs-invalidate', [0, 1]);
      assert.deepEqual(oracles(r), ['split-mapping', 'soft-dirty-missed']);
      const split = r.violations[0];
      assert.equal(split.label, 'mmu_notifier_invalidate_range_only_end', 'fires when the window closes with the ATC still writable');
      assert.match(split.message, /writable translation of A/);
      const missed = r.violations[1];
      assert.equal(r.threadNames[missed.thread], 'k1');
      assert.equal(missed.label, 'pte_to_pagemap_entry');
      assert.deepEqual(labelsOf(r, 'dev0'), ['device DMA write', 'device DMA write'], 'no translation fault');
      assert.match(rows(r).filter((x) => x.thread === 0)[1].effects, /via dev0\.atc/);
      assert.deepEqual(pagemapResults(r), ['A soft-dirty=0']);
    });

    it('v4.13: range_end flushed the ATC, so the second write faults through PRI, which sets soft-dirty', () => {
      // as above, but the second write faults: let iommu-fault (3) serve it before k1 runs. k0 runs
      // its 11 steps (down_read + tlb_gather_mmu, the VM_SOFTDIRTY pass: up_read, down_write,
      // downgrade_write, then range_start … up_read).
      const decisions = [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 3];
      const r = replay(sc, 'v4.13', decisions);
      assert.deepEqual(r.violations, []);
      assert.deepEqual(labelsOf(r, 'dev0'), ['device DMA write', 'device DMA write: ATS translation fault', 'device DMA write']);
      assertInOrder(labelsOf(r, 'iommu-fault'), ['wp_page_reuse: ptep_set_access_flags', 'do_fault: up_read + finish_pri_tag']);
      assert.deepEqual(pagemapResults(r), ['A soft-dirty=1']);
      const order = rows(r).map((x) => x.label);
      assert.ok(order.indexOf('pte_to_pagemap_entry') > order.lastIndexOf('device DMA write'), 'pagemap ran after the write completed');
    });
  });

  describe('a shared file page written, reclaimed and read back, with no clear-refs ever', () => {
    // cpu0 writes the file page A (do_page_mkwrite), k0 reclaims it (writeback, PTE none), cpu1
    // reads it back (filemap_fault maps it read-only), k1 reads pagemap. Run with no preemption.
    const sc = compile({
      name: 'sd-file',
      world: { iommu: 'none' },
      pages: { A: { cells: [1, 2, 3, 4], file: true } },
      threads: [
        { name: 'cpu0', on: 'cpu', ops: [['write', 'A', 0, 7]] },
        { name: 'k0', on: 'kernel', ops: [['reclaim', 'A']] },
        { name: 'cpu1', on: 'cpu', ops: [['read', 'A', 0]] },
        { name: 'k1', on: 'kernel', ops: [['pagemap', 'A']] },
      ],
    });

    it('takes the file paths: reclaim clears the PTE, the read refaults it from the page cache, the data survive', () => {
      const r = replay(sc, 'v4.13');
      assert.ok(!oracles(r).includes('stale-read') && !oracles(r).includes('lost-write'));
      assert.ok(labelsOf(r, 'k0').includes('pageout: ->writepage'));
      assert.ok(labelsOf(r, 'cpu1').some((l) => l.startsWith('filemap_fault')));
      assert.deepEqual(rows(r).filter((x) => x.label === 'cpu load').map((x) => /A\[0\] = (\d+)/.exec(x.effects)?.[1]), ['7']);
    });

    // BUG: with no clear_refs ever, the vma still has VM_SOFTDIRTY (set at mmap, cleared only by
    // clear_refs_write), and pte_to_pagemap_entry() reports PM_SOFT_DIRTY for every PTE of such a
    // vma — the kernel cannot report A clean here. The model leaves VM_SOFTDIRTY out (comment in
    // sim/kernel/softDirty.ts) and the file refault (alloc_set_pte) installs A's PTE without
    // soft-dirty, so pagemap says soft-dirty=0 and the oracle (writtenSinceClear, which counts
    // "since the start" when there was no clear-refs) fires soft-dirty-missed under v4.13: a false
    // finding. Model VM_SOFTDIRTY (set initially, cleared by clear-refs, ORed in by pagemap), or
    // have the oracle require a clear-refs. (With a clear-refs before the write the loss is the
    // real kernel's: try_to_unmap_one drops a file PTE's soft-dirty bit.)
    it('pagemap reports A soft-dirty: no soft-dirty-missed without a clear-refs', () => {
      const r = replay(sc, 'v4.13');
      assert.deepEqual(r.violations, []);
    });
  });
});

