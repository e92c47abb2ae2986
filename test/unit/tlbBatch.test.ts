import assert from 'node:assert/strict';
import { compile, labelsOf, oracles, rows, sitesOf } from './helpers.ts';
import { PlanChooser, keepWorld, type Segment } from './plan.ts';
import { catalogEntry } from '../../sim/scenario/catalog.ts';
import { runOnce, type RunResult } from '../../sim/run.ts';
import { DeferState } from '../../sim/model/translationCache.ts';
import type { CompiledScenario } from '../../sim/scenario/compiled.ts';

/**
 * Deferred CPU TLB flushes (sim/kernel/tlbBatch.ts): reclaim's tlbflush_unmap_batch,
 * flush_tlb_batched_pending() (3ea277194daa) and the mmu_gather's nested flush (99baac21e458).
 */

function run(sc: CompiledScenario, preset: string, plan: Segment[]): { r: RunResult; reached: string[] } {
  const chooser = new PlanChooser(plan);
  const r = runOnce(sc, sitesOf(preset), chooser, { trace: true });
  return { r, reached: chooser.reached };
}

function seq(r: RunResult): string[] {
  return rows(r).map((x) => `${r.threadNames[x.thread]}: ${x.label}`);
}

/** cpu0 writes A (a writable, dirty TLB entry), reclaim clears the PTE and drops its PT lock, k1 runs to the end, cpu0 writes again. */
const NADAV: Segment[] = [
  { thread: 'cpu0', until: 'cpu store' },
  { thread: 'kswapd', until: 'page_vma_mapped_walk_done' },
  { thread: 'k1', until: 'madvise: up_read' },
  { thread: 'cpu0', until: /^cpu store/ },
];

describe('deferred CPU TLB flushes (sim/kernel/tlbBatch.ts)', () => {
  const zapScenario = compile(catalogEntry('reclaim-zap-stale-tlb')!.scenario);
  const mprotectScenario = compile(catalogEntry('reclaim-mprotect-stale-tlb')!.scenario);

  it('reclaim clears the PTE without a flush: the CPU entry is tolerated until try_to_unmap_flush', () => {
    const kw = keepWorld();
    const chooser = new PlanChooser([
      { thread: 'cpu0', until: 'cpu store' },
      { thread: 'kswapd', until: 'ptep_get_and_clear' },
    ]);
    let seen = -1;
    runOnce(zapScenario, sitesOf('v4.13'), chooser, {
      observer: {
        init: kw.observer.init,
        step: (w) => {
          if (seen === -1 && w.current?.label === 'try_to_unmap_one: ptep_get_and_clear + set_tlb_ubc_flush_pending') seen = w.cpuTlbs[0].deferred[0];
        },
      },
    });
    assert.equal(seen, DeferState.Tolerated);
    assert.equal(kw.world().cpuTlbs[0].valid[0], 0, 'flushed by the end of shrink_page_list');
  });

  it('v4.13: zap_pte_range flushes the batched flush (flush_tlb_batched_pending) and the next write faults', () => {
    const { r, reached } = run(zapScenario, 'v4.13', NADAV);
    assert.equal(reached.length, 4, reached.join(' / '));
    assert.deepEqual(r.violations, []);
    const s = seq(r);
    assert.ok(s.includes('k1: zap_pte_range: flush_tlb_batched_pending (flush_tlb_mm) + ptep_get_and_clear_full + __tlb_remove_page'), s.join('\n'));
    assert.ok(s.indexOf('cpu0: cpu store: page fault') > s.indexOf('k1: madvise: up_read(mmap_sem)'));
  });

  it('v4.10 (no flush_tlb_batched_pending): the write after MADV_DONTNEED goes through the stale entry and is lost', () => {
    const { r } = run(zapScenario, 'v4.10', NADAV);
    assert.deepEqual(oracles(r), ['split-mapping', 'lost-write']);
    const write = rows(r).find((x) => r.threadNames[x.thread] === 'cpu0' && /A\[1\] := 2/.test(x.effects))!;
    assert.match(write.effects, /via cpu0\.tlb/);
    assert.match(r.violations[0].message, /stale entry of a deferred TLB flush outlived/);
    assert.equal(r.violations[0].label, 'mmu_notifier_invalidate_range_end', 'reported when the zap window closes');
    assert.match(r.violations[1].message, /A\[1\] reads 0 via an unmapped \(zero-fill\) PTE, but the last value written was 2/);
  });

  it('a dirty PTE makes reclaim flush before pageout (try_to_unmap_flush_dirty); a clean one only before the free', () => {
    const dirty = seq(run(zapScenario, 'v4.13', [{ thread: 'cpu0', until: 'cpu store' }, { thread: 'kswapd' }]).r).filter((x) => x.startsWith('kswapd'));
    const flush = dirty.indexOf('kswapd: try_to_unmap_flush: arch_tlbbatch_flush');
    assert.ok(flush >= 0 && flush === dirty.indexOf('kswapd: pageout: swap_writepage') - 1, dirty.join('\n'));
    const clean = compile({
      name: 'clean',
      world: { iommu: 'none' },
      pages: { A: { swapped: true } },
      threads: [
        { name: 'cpu0', on: 'cpu', ops: [['read', 'A', 0]] },
        { name: 'kswapd', on: 'kernel', ops: [['reclaim', 'A']] },
      ],
    });
    const r = run(clean, 'v4.13', [{ thread: 'cpu0' }, { thread: 'kswapd' }]).r;
    const k = labelsOf(r, 'kswapd');
    assert.ok(!k.includes('pageout: swap_writepage'), 'clean swap-cache page: no writeback');
    assert.deepEqual(k.slice(-3), ['__remove_mapping: page_ref_freeze + __delete_from_swap_cache', 'try_to_unmap_flush: arch_tlbbatch_flush', 'shrink_page_list: free_hot_cold_page_list']);
  });

  it('mprotect: v4.13 flushes in change_pte_range; v4.10 leaves the writable entry → split-mapping, and the write after mprotect(PROT_READ) succeeds', () => {
    const plan: Segment[] = [
      { thread: 'cpu0', until: 'cpu store' },
      { thread: 'kswapd', until: 'page_vma_mapped_walk_done' },
      { thread: 'k1', until: 'mprotect: up_write' },
      { thread: 'cpu0', until: /^cpu store/ },
    ];
    const good = run(mprotectScenario, 'v4.13', plan).r;
    assert.deepEqual(good.violations, []);
    assert.ok(labelsOf(good, 'k1').includes('change_pte_range: flush_tlb_batched_pending (flush_tlb_mm) + ptep_modify_prot_start/commit'));
    assert.ok(labelsOf(good, 'cpu0').includes('do_page_fault: up_read(mmap_sem), SIGSEGV'), 'the write after mprotect(PROT_READ) faults');
    const bad = run(mprotectScenario, 'v4.10', plan).r;
    assert.deepEqual(oracles(bad), ['split-mapping']);
    assert.ok(!labelsOf(bad, 'cpu0').some((l) => l.includes('SIGSEGV')), 'the stale entry lets the write through');
  });

  describe('two MADV_DONTNEED of one page (99baac21e458)', () => {
    const sc = compile({
      name: 'nested',
      world: { iommu: 'none' },
      pages: { A: { cells: [1, 0, 0, 0] } },
      threads: [
        { name: 'cpu0', on: 'cpu', ops: [['read', 'A', 0]] },
        { name: 'k1', on: 'kernel', ops: [['zap', 'A']] },
        { name: 'k2', on: 'kernel', ops: [['zap', 'A']] },
      ],
    });
    // cpu0 caches A; k1 clears the PTE and stops before its tlb_finish_mmu flush; k2 finds pte_none.
    const plan: Segment[] = [
      { thread: 'cpu0', until: 'cpu load' },
      { thread: 'k1', until: 'mmu_notifier_invalidate_range_end' },
      { thread: 'k2', until: 'madvise: up_read' },
    ];

    it('v4.13: mm_tlb_flush_nested makes the second gather flush although it cleared nothing', () => {
      const { r } = run(sc, 'v4.13', plan);
      assert.deepEqual(r.violations, []);
      assert.ok(labelsOf(r, 'k2').some((l) => l.startsWith('tlb_finish_mmu (mm_tlb_flush_nested): tlb_flush_mmu_tlbonly: flush_tlb')), labelsOf(r, 'k2').join('\n'));
    });

    it('v4.10: the second MADV_DONTNEED returns with the first one\'s stale CPU entry → split-mapping', () => {
      const { r } = run(sc, 'v4.10', plan);
      assert.deepEqual(oracles(r), ['split-mapping']);
      assert.equal(r.threadNames[r.violations[0].thread], 'k2');
      assert.ok(!labelsOf(r, 'k2').some((l) => l.includes('flush_tlb')));
    });
  });
});
