import assert from 'node:assert/strict';
import { PageTable, PteKind } from '../../sim/model/pageTable.ts';

describe('model/pageTable: PageTable', () => {
  it('starts with every PTE none, no frame', () => {
    const pt = new PageTable(3);
    for (let p = 0; p < 3; p++) {
      assert.equal(pt.kind[p], PteKind.None);
      assert.equal(pt.frame[p], -1);
      assert.equal(pt.write[p], 0);
      assert.equal(pt.softDirty[p], 0);
    }
  });

  it('setPresent records frame and bits, and marks the PTE young', () => {
    const pt = new PageTable(2);
    pt.setPresent(1, 5, true, false, true);
    assert.equal(pt.kind[1], PteKind.Present);
    assert.equal(pt.frame[1], 5);
    assert.equal(pt.write[1], 1);
    assert.equal(pt.dirty[1], 0);
    assert.equal(pt.young[1], 1);
    assert.equal(pt.softDirty[1], 1);
    assert.equal(pt.kind[0], PteKind.None, 'other PTE untouched');
    pt.setPresent(1, 6, false, true, false);
    assert.deepEqual([pt.frame[1], pt.write[1], pt.dirty[1], pt.softDirty[1]], [6, 0, 1, 0]);
  });

  it('setSwap drops the frame and permission bits, keeping only soft-dirty', () => {
    const pt = new PageTable(1);
    pt.setPresent(0, 3, true, true, false);
    pt.setSwap(0, true);
    assert.equal(pt.kind[0], PteKind.Swap);
    assert.equal(pt.frame[0], -1);
    assert.equal(pt.write[0], 0);
    assert.equal(pt.dirty[0], 0);
    assert.equal(pt.young[0], 0);
    assert.equal(pt.softDirty[0], 1);
    pt.setSwap(0, false);
    assert.equal(pt.softDirty[0], 0);
  });

  it('clear returns the PTE to none with every bit clear', () => {
    const pt = new PageTable(1);
    pt.setPresent(0, 3, true, true, true);
    pt.clear(0);
    assert.equal(pt.kind[0], PteKind.None);
    assert.equal(pt.frame[0], -1);
    assert.deepEqual([pt.write[0], pt.dirty[0], pt.young[0], pt.softDirty[0]], [0, 0, 0, 0]);
  });

  describe('snapshot (pte_same)', () => {
    it('is equal for the same state', () => {
      const pt = new PageTable(2);
      pt.setPresent(0, 4, false, false, false);
      pt.setPresent(1, 4, false, false, false);
      assert.equal(pt.snapshot(0), pt.snapshot(1));
      const s = pt.snapshot(0);
      pt.setPresent(0, 4, false, false, false);
      assert.equal(pt.snapshot(0), s);
    });

    it('differs when the frame changes (COW installed a new page)', () => {
      const pt = new PageTable(1);
      pt.setPresent(0, 4, true, true, true);
      const s = pt.snapshot(0);
      pt.setPresent(0, 5, true, true, true);
      assert.notEqual(pt.snapshot(0), s);
    });

    it('differs when the kind changes (none / present / swap)', () => {
      const pt = new PageTable(1);
      const none = pt.snapshot(0);
      pt.setPresent(0, 0, false, false, false);
      const present0 = pt.snapshot(0);
      pt.setSwap(0, false);
      const swap = pt.snapshot(0);
      assert.equal(new Set([none, present0, swap]).size, 3);
    });

    it('differs when the write bit changes (wrprotect / wp_page_reuse)', () => {
      const pt = new PageTable(1);
      pt.setPresent(0, 2, false, false, false);
      const ro = pt.snapshot(0);
      pt.write[0] = 1;
      assert.notEqual(pt.snapshot(0), ro);
    });

    it('tells frame 0 present apart from none and distinct frames/write apart from each other', () => {
      const pt = new PageTable(1);
      const seen = new Set<number>();
      seen.add(pt.snapshot(0));
      for (let f = 0; f < 300; f++) {
        for (const w of [false, true]) {
          pt.setPresent(0, f, w, false, false);
          seen.add(pt.snapshot(0));
        }
      }
      pt.setSwap(0, false);
      seen.add(pt.snapshot(0));
      assert.equal(seen.size, 1 + 600 + 1);
    });

    it('ignores the hardware-set dirty and young bits (documented: kind, frame, soft-dirty and write bit)', () => {
      const pt = new PageTable(1);
      pt.setPresent(0, 2, true, false, false);
      const s = pt.snapshot(0);
      pt.dirty[0] = 1;
      pt.young[0] = 0;
      assert.equal(pt.snapshot(0), s);
    });

    it('sees soft-dirty, of a present PTE and of a swap entry (x86 pte_same compares _PAGE_SOFT_DIRTY / _PAGE_SWP_SOFT_DIRTY too; MB-5)', () => {
      const pt = new PageTable(1);
      pt.setPresent(0, 2, true, false, false);
      const present = pt.snapshot(0);
      pt.softDirty[0] = 1;
      assert.notEqual(pt.snapshot(0), present);
      pt.setSwap(0, false);
      const swap = pt.snapshot(0);
      pt.setSwap(0, true);
      assert.notEqual(pt.snapshot(0), swap);
    });
  });
});
