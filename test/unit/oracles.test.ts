import assert from 'node:assert/strict';
import { compile, sitesOf } from './helpers.ts';
import { World } from '../../sim/world.ts';
import { ORACLES, NOT_A_RACE } from '../../sim/oracles/violation.ts';

/**
 * The oracles of docs/oracles.md (sim/oracles/oracles.ts), driven directly on a fresh World: page A
 * = [1,2,3,4] present at frame 1 (frame 0 is the zero page), page B swapped out with [5,6,7,8],
 * one CPU and one ATS device.
 */
function world(): World {
  const sc = compile({
    name: 'o',
    pages: { A: { cells: [1, 2, 3, 4] }, B: { cells: [5, 6, 7, 8], swapped: true } },
    devices: [{ name: 'dev0' }],
    threads: [
      { name: 'cpu0', on: 'cpu', ops: [] },
      { name: 'dev0', on: 'device:dev0', ops: [] },
    ],
  });
  return new World(sc, sitesOf('v4.13'), false);
}
const A = 0;
const B = 1;

/** The violations so far (a function: assert.deepEqual would otherwise narrow the array's type to never[]). */
function found(w: World) {
  return w.oracles.violations;
}

describe('oracles', () => {
  it('the oracle names of docs/oracles.md; only step-budget is not a race', () => {
    assert.deepEqual(
      [...ORACLES].sort(),
      ['deadlock', 'lost-write', 'no-progress', 'soft-dirty-missed', 'split-mapping', 'stale-read', 'step-budget', 'use-after-free'].sort(),
    );
    assert.deepEqual([...NOT_A_RACE], ['step-budget']);
  });

  it('the initial world: A present at frame 1, B swapped, zero page at frame 0, no violation at the end', () => {
    const w = world();
    assert.equal(w.zeroFrame, 0);
    assert.equal(w.pt.frame[A], 1);
    assert.equal(w.frames.read(1, 3), 4);
    assert.equal(w.backing.read(B, 0), 5);
    w.oracles.checkEnd();
    assert.deepEqual(found(w), []);
  });

  describe('stale-read', () => {
    it('a read of the last written value is fine; another value fires', () => {
      const w = world();
      w.oracles.onRead(A, 0, 1, 'test', null, 1);
      assert.deepEqual(found(w), []);
      w.oracles.onWrite(A, 0, 9, null, 1);
      w.oracles.onRead(A, 0, 9, 'test', null, 1);
      assert.deepEqual(found(w), []);
      w.oracles.onRead(A, 0, 1, 'old frame', null, 1);
      assert.equal(found(w).length, 1);
      const v = found(w)[0];
      assert.equal(v.oracle, 'stale-read');
      assert.equal(v.page, 'A');
      assert.match(v.message, /A\[0\] = 1 via old frame, but the last value written was 9/);
    });

    it('each oracle reports only its first violation in a run', () => {
      const w = world();
      w.oracles.onRead(A, 0, 100, 'x', null, 1);
      w.oracles.onRead(A, 1, 100, 'x', null, 1);
      assert.equal(found(w).length, 1);
      assert.equal(w.oracles.hasFired('stale-read'), true);
      assert.equal(w.oracles.hasFired('lost-write'), false);
    });

    it('zap/madvise-free exempt the page while in flight, and its expectation restarts when they return', () => {
      const w = world();
      w.oracles.beginExempt(A);
      w.oracles.onRead(A, 0, 77, 'x', null, 1); // unchecked while exempt
      w.oracles.onWrite(A, 0, 5, null, 1); // not recorded while exempt
      w.oracles.endExempt(A);
      w.oracles.onRead(A, 0, 0, 'zero page', null, 1); // nothing is promised any more
      assert.deepEqual(found(w), []);
      w.oracles.onWrite(A, 0, 6, null, 1); // a new write sets a new expectation
      w.oracles.onRead(A, 0, 0, 'x', null, 1);
      assert.deepEqual(found(w).map((v) => v.oracle), ['stale-read']);
    });

    it('nested exemptions restart the expectation only when the last one returns', () => {
      const w = world();
      w.oracles.beginExempt(A);
      w.oracles.beginExempt(A);
      w.oracles.endExempt(A);
      w.oracles.onRead(A, 0, 42, 'x', null, 1);
      assert.deepEqual(found(w), [], 'still exempt');
      w.oracles.endExempt(A);
      w.oracles.onRead(A, 0, 42, 'x', null, 1);
      assert.deepEqual(found(w), []);
      assert.equal(w.oracles.exempt[A], 0);
    });

    it('another page keeps its expectation', () => {
      const w = world();
      w.oracles.beginExempt(A);
      w.oracles.onRead(B, 0, 0, 'x', null, 1);
      assert.deepEqual(found(w).map((v) => v.oracle), ['stale-read']);
    });
  });

  describe('lost-write (end of run)', () => {
    it('reads a present page through its PTE frame', () => {
      const w = world();
      w.oracles.onWrite(A, 2, 30, null, 1);
      w.oracles.checkEnd();
      assert.deepEqual(found(w).map((v) => v.oracle), ['lost-write'], 'the frame still holds 3');
      assert.match(found(w)[0].message, /A\[2\] reads 3 via frame 1, but the last value written was 30/);
      assert.equal(found(w)[0].thread, -1);
    });

    it('is satisfied when the frame holds the written value', () => {
      const w = world();
      w.frames.write(1, 2, 30);
      w.oracles.onWrite(A, 2, 30, null, 1);
      w.oracles.checkEnd();
      assert.deepEqual(found(w), []);
    });

    it('reads a swapped page from its slot, or from the swap cache frame when it has one', () => {
      const w = world();
      w.oracles.onWrite(B, 1, 60, null, 1);
      w.oracles.checkEnd();
      assert.match(found(w)[0].message, /B\[1\] reads 6 via (swap slot|the backing store)/);
      const w2 = world();
      const f = w2.frames.alloc(B);
      w2.backing.readIntoFrame(B, w2.frames.cells, f);
      w2.frames.write(f, 1, 60);
      w2.backing.swapCache[B] = f;
      w2.oracles.onWrite(B, 1, 60, null, 1);
      w2.oracles.checkEnd();
      assert.deepEqual(found(w2), [], 'the swap cache copy is the newest');
    });

    it('a none PTE reads as zero', () => {
      const w = world();
      w.pt.clear(A);
      w.oracles.checkEnd();
      assert.deepEqual(found(w).map((v) => v.oracle), ['lost-write']);
      assert.match(found(w)[0].message, /reads 0 via an unmapped/);
    });

    it('is not checked for a page exempt at the end, nor for cells with no expectation', () => {
      const w = world();
      w.pt.clear(A);
      w.oracles.beginExempt(A);
      w.oracles.checkEnd();
      assert.deepEqual(found(w), []);
      const w2 = world();
      w2.oracles.beginExempt(A);
      w2.oracles.endExempt(A);
      w2.pt.clear(A);
      w2.oracles.checkEnd();
      assert.deepEqual(found(w2), []);
    });
  });

  describe('soft-dirty-missed', () => {
    it('a write after clear-refs returned, and pagemap reports clean → fires', () => {
      const w = world();
      w.oracles.beginClearRefs();
      w.oracles.endClearRefs();
      w.oracles.onWrite(A, 0, 1, null, 1);
      w.oracles.onPagemap(A, false);
      assert.deepEqual(found(w).map((v) => v.oracle), ['soft-dirty-missed']);
    });

    it('pagemap reporting dirty is fine', () => {
      const w = world();
      w.oracles.beginClearRefs();
      w.oracles.endClearRefs();
      w.oracles.onWrite(A, 0, 1, null, 1);
      w.oracles.onPagemap(A, true);
      assert.deepEqual(found(w), []);
    });

    it('writes concurrent with clear-refs, or before it, may be missed', () => {
      const w = world();
      w.oracles.onWrite(A, 0, 1, null, 1); // before
      w.oracles.beginClearRefs();
      w.oracles.onWrite(A, 1, 1, null, 1); // concurrent
      w.oracles.endClearRefs();
      w.oracles.onPagemap(A, false);
      assert.deepEqual(found(w), []);
    });

    it('pagemap while a clear-refs is in flight is not checked', () => {
      const w = world();
      w.oracles.beginClearRefs();
      w.oracles.endClearRefs();
      w.oracles.onWrite(A, 0, 1, null, 1);
      w.oracles.beginClearRefs();
      w.oracles.onPagemap(A, false);
      assert.deepEqual(found(w), []);
    });

    it('only the written page is expected dirty', () => {
      const w = world();
      w.oracles.beginClearRefs();
      w.oracles.endClearRefs();
      w.oracles.onWrite(A, 0, 1, null, 1);
      w.oracles.onPagemap(B, false);
      assert.deepEqual(found(w), []);
    });
  });

  describe('use-after-free', () => {
    it('an access through a cached translation to a freed frame fires', () => {
      const w = world();
      const atc = w.iommu!.devices[0].atc;
      atc.fill(A, 1, w.frames.gen[1], true);
      w.oracles.checkCachedAccess(atc, A, false);
      assert.deepEqual(found(w), [], 'frame still allocated, same generation');
      w.frames.release(1);
      w.oracles.checkCachedAccess(atc, A, true);
      assert.deepEqual(found(w).map((v) => v.oracle), ['use-after-free']);
      assert.match(found(w)[0].message, /wrote A through a stale dev0\.atc entry → a free frame/);
    });

    it('an access to a reallocated frame (generation changed) fires', () => {
      const w = world();
      const tlb = w.cpuTlbs[0];
      tlb.fill(A, 1, w.frames.gen[1], false);
      w.frames.release(1);
      assert.equal(w.frames.alloc(B), 1, 'lowest free frame is reused at once');
      w.oracles.checkCachedAccess(tlb, A, false);
      assert.equal(found(w).length, 1);
      assert.match(found(w)[0].message, /frame 1 reallocated to another page \(translated at generation 1, now 2\)/);
    });
  });

  describe('split-mapping', () => {
    function touched(w: World): string[] {
      w.touch(A);
      w.oracles.checkTouched();
      return found(w).map((v) => v.oracle);
    }

    it('a secondary translation agreeing with the PTE is fine', () => {
      const w = world();
      w.iommu!.iotlb.fill(A, 1, w.frames.gen[1], true);
      w.iommu!.devices[0].atc.fill(A, 1, w.frames.gen[1], true);
      w.cpuTlbs[0].fill(A, 1, w.frames.gen[1], true);
      assert.deepEqual(touched(w), []);
    });

    it('a translation to another frame fires outside a window and the PT lock', () => {
      const w = world();
      const f = w.frames.alloc(A);
      w.iommu!.devices[0].atc.fill(A, f, w.frames.gen[f], false);
      assert.deepEqual(touched(w), ['split-mapping']);
      assert.match(found(w)[0].message, /A has two translations .*PTE → frame 1, dev0\.atc → frame 2/);
    });

    it('the same disagreement inside a range_start..range_end window, or under the PT lock, is tolerated', () => {
      const w = world();
      const f = w.frames.alloc(A);
      w.iommu!.devices[0].atc.fill(A, f, w.frames.gen[f], false);
      w.windows[A]++;
      assert.deepEqual(touched(w), []);
      w.windows[A]--;
      w.ptl[A].acquire(0);
      assert.deepEqual(touched(w), []);
      w.ptl[A].release(0);
      assert.deepEqual(touched(w), ['split-mapping'], 'fires once both are closed');
    });

    it('a writable secondary translation while the PTE is read-only fires', () => {
      const w = world();
      w.pt.write[A] = 0;
      w.iommu!.iotlb.fill(A, 1, w.frames.gen[1], true);
      assert.deepEqual(touched(w), ['split-mapping']);
      assert.match(found(w)[0].message, /writable translation of A/);
    });

    it('a writable CPU TLB entry over a read-only PTE is not a split mapping (CPU TLBs are not secondary)', () => {
      const w = world();
      w.pt.write[A] = 0;
      w.cpuTlbs[0].fill(A, 1, w.frames.gen[1], true);
      assert.deepEqual(touched(w), []);
    });

    it('a stale secondary translation over a none PTE is compared with the other caches only', () => {
      const w = world();
      w.pt.clear(A);
      w.iommu!.iotlb.fill(A, 1, w.frames.gen[1], false);
      assert.deepEqual(touched(w), [], 'one translation alone cannot disagree');
      w.cpuTlbs[0].fill(A, 0, w.frames.gen[0], false);
      assert.deepEqual(touched(w), ['split-mapping']);
    });
  });
});
