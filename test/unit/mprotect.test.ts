import assert from 'node:assert/strict';
import { compile, labelsOf, oracles, sitesOf } from './helpers.ts';
import { PlanChooser, keepWorld, type Segment } from './plan.ts';
import { runOnce } from '../../sim/run.ts';
import type { ScenarioInput } from '../../sim/scenario/schema.ts';
import type { Sites } from '../../sim/variants/sites.ts';

/**
 * mprotect(PROT_READ|PROT_WRITE) after clear_refs (mm/mprotect.c change_pte_range, ★
 * mprotect.writeUpgrade). v4.10–v4.15 make a dirty shared-file PTE writable when `pte_soft_dirty ||
 * !(vm_flags & VM_SOFTDIRTY)` — inverted, so the next write is never soft-dirty: a real bug, kept.
 * v6.0's 76aefad628aa fixed the test in can_change_pte_writable(); the model had no site for it,
 * so v6.6 reported soft-dirty-missed too (a false positive). v6.6 also upgrades an exclusive
 * anonymous page directly (64fe24a3e05e).
 */
function scenario(file: boolean, k0: ScenarioInput['threads'][number]['ops']): ScenarioInput {
  return {
    name: 'mprotect-soft-dirty',
    world: { iommu: 'none' },
    pages: { A: { cells: [0, 0, 0, 0], file } },
    threads: [
      { name: 'cpu0', on: 'cpu', ops: [['write', 'A', 0, 1], ['write', 'A', 0, 2]] },
      { name: 'k0', on: 'kernel', ops: k0 },
      { name: 'k1', on: 'kernel', ops: [['pagemap', 'A']] },
    ],
  };
}

const CLEAR_THEN_REPROTECT: ScenarioInput['threads'][number]['ops'] = [['clear-refs'], ['mprotect', 'A', 'r'], ['mprotect', 'A', 'rw']];

/** cpu0's first write, then all of k0, then cpu0's second write, then pagemap: no concurrency at all. */
const SERIAL: Segment[] = [{ thread: 'cpu0', until: /^cpu store$/ }, { thread: 'k0' }, { thread: 'cpu0' }, { thread: 'k1' }];

function run(input: ScenarioInput, variant: string | Sites, plan: Segment[]) {
  const kept = keepWorld();
  const r = runOnce(compile(input), typeof variant === 'string' ? sitesOf(variant) : variant, new PlanChooser(plan), {
    trace: true,
    observer: kept.observer,
  });
  return { r, w: kept.world() };
}

/** cpu0's steps after k0 finished (its second write). */
function secondWrite(r: ReturnType<typeof run>['r']): string[] {
  const ls = labelsOf(r, 'cpu0');
  return ls.slice(ls.indexOf('cpu store') + 1);
}

describe('kernel/mprotect: soft-dirty after clear_refs, mprotect(r), mprotect(rw)', () => {
  it('v6.6 (can_change_pte_writable, 76aefad628aa): the dirty file PTE stays read-only, the write faults, pagemap sees it', () => {
    const { r } = run(scenario(true, CLEAR_THEN_REPROTECT), 'v6.6', SERIAL);
    assert.ok(secondWrite(r).includes('cpu store: page fault'), secondWrite(r).join('\n'));
    assert.ok(secondWrite(r).includes('wp_page_reuse: ptep_set_access_flags'));
    assert.deepEqual(oracles(r), []);
  });

  for (const v of ['v4.10', 'v4.11', 'v4.13', 'v4.15']) {
    it(`${v} (dirty_accountable, inverted soft-dirty test): the PTE becomes writable, the write is missed — the real bug`, () => {
      const { r } = run(scenario(true, CLEAR_THEN_REPROTECT), v, SERIAL);
      assert.ok(!secondWrite(r).includes('cpu store: page fault'), secondWrite(r).join('\n'));
      assert.deepEqual(oracles(r), ['soft-dirty-missed']);
    });
  }

  it('v4.13: without clear_refs (VM_SOFTDIRTY still set, PTE soft-dirty) the upgrade is harmless', () => {
    const { r, w } = run(scenario(true, [['mprotect', 'A', 'r'], ['mprotect', 'A', 'rw']]), 'v4.13', SERIAL);
    assert.deepEqual(oracles(r), []);
    assert.equal(w.pt.softDirty[0], 1);
  });

  it('anonymous page after clear_refs: v4.13 and v6.6 fault, v5.19 (64fe24a3e05e as merged) upgrades and misses the write', () => {
    for (const v of ['v4.13', 'v6.6']) {
      const { r } = run(scenario(false, CLEAR_THEN_REPROTECT), v, SERIAL);
      assert.ok(secondWrite(r).includes('wp_page_reuse: ptep_set_access_flags'), `${v}: ${secondWrite(r).join(' | ')}`);
      assert.deepEqual(oracles(r), [], v);
    }
    const { r } = run(scenario(false, CLEAR_THEN_REPROTECT), 'mprotect-softdirty-v5.19', SERIAL);
    assert.ok(!secondWrite(r).includes('cpu store: page fault'));
    assert.deepEqual(oracles(r), ['soft-dirty-missed']);
  });
});

describe('kernel/mprotect: v6.6 direct writable upgrade of exclusive anonymous pages (64fe24a3e05e)', () => {
  const reprotect: ScenarioInput['threads'][number]['ops'] = [['mprotect', 'A', 'r'], ['mprotect', 'A', 'rw']];
  function final(input: ScenarioInput, variant: string) {
    const { r, w } = run(input, variant, [{ thread: 'k0' }]);
    assert.deepEqual(oracles(r), []);
    return w;
  }
  const only = (pages: ScenarioInput['pages']): ScenarioInput => ({
    name: 'mprotect-upgrade',
    world: { iommu: 'none' },
    pages,
    threads: [{ name: 'k0', on: 'kernel', ops: reprotect }],
  });

  it('an exclusive anonymous page: writable again at once under v6.6, read-only until the next write fault under v4.13', () => {
    assert.equal(final(only({ A: { cells: [1, 0, 0, 0] } }), 'v6.6').pt.write[0], 1);
    assert.equal(final(only({ A: { cells: [1, 0, 0, 0] } }), 'v4.13').pt.write[0], 0);
  });

  it('a COW-shared page (mapped by two mms: not PageAnonExclusive) stays read-only under v6.6', () => {
    assert.equal(final(only({ A: { cells: [1, 0, 0, 0], cow: true } }), 'v6.6').pt.write[0], 0);
  });

  it('a clean shared file PTE stays read-only (write-notify still needs the fault) under v6.6', () => {
    assert.equal(final(only({ A: { cells: [1, 0, 0, 0], file: true } }), 'v6.6').pt.write[0], 0);
  });

  it('mprotect to the flags the vma already has changes nothing (mprotect_fixup: newflags == oldflags)', () => {
    const input: ScenarioInput = { ...only({ A: { cells: [1, 0, 0, 0] } }), threads: [{ name: 'k0', on: 'kernel', ops: [['mprotect', 'A', 'rw']] }] };
    const { r } = run(input, 'v6.6', [{ thread: 'k0' }]);
    assert.deepEqual(labelsOf(r, 'k0'), ['mprotect: down_write(mmap_sem), vma->vm_flags', 'mprotect: up_write(mmap_sem)']);
  });
});
