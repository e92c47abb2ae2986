import assert from 'node:assert/strict';
import { BackingStore } from '../../sim/model/backing.ts';
import { FramePool } from '../../sim/model/frames.ts';

describe('model/backing: BackingStore', () => {
  it('starts with empty (unwritten, zero) slots and an empty swap cache (-1)', () => {
    const b = new BackingStore(3, 2);
    assert.deepEqual([...b.swapCache], [-1, -1, -1]);
    assert.deepEqual([...b.written], [0, 0, 0]);
    for (let s = 0; s < 3; s++) for (let c = 0; c < 2; c++) assert.equal(b.read(s, c), 0);
  });

  it('writeFromFrame stores a frame in a slot and marks it written', () => {
    const fp = new FramePool(2, 3);
    const f = fp.alloc(0);
    const g = fp.alloc(1);
    [7, 8, 9].forEach((v, c) => fp.write(g, c, v));
    [1, 2, 3].forEach((v, c) => fp.write(f, c, v));
    const b = new BackingStore(2, 3);
    b.writeFromFrame(1, fp.cells, g);
    assert.deepEqual([b.read(1, 0), b.read(1, 1), b.read(1, 2)], [7, 8, 9]);
    assert.deepEqual([...b.written], [0, 1]);
    assert.deepEqual([b.read(0, 0), b.read(0, 1), b.read(0, 2)], [0, 0, 0], 'other slot untouched');
    // the slot is a copy, not a view of the frame
    fp.write(g, 0, 70);
    assert.equal(b.read(1, 0), 7);
  });

  it('readIntoFrame loads a slot into a frame, leaving other frames alone', () => {
    const fp = new FramePool(3, 2);
    fp.alloc(0);
    fp.alloc(0);
    fp.alloc(0);
    fp.zero(0);
    fp.zero(1);
    fp.zero(2);
    const b = new BackingStore(2, 2);
    b.cells.set([5, 6], 0);
    b.cells.set([11, 12], 2);
    b.readIntoFrame(1, fp.cells, 2);
    assert.deepEqual([fp.read(2, 0), fp.read(2, 1)], [11, 12]);
    assert.deepEqual([fp.read(1, 0), fp.read(1, 1)], [0, 0]);
    b.readIntoFrame(0, fp.cells, 0);
    assert.deepEqual([fp.read(0, 0), fp.read(0, 1)], [5, 6]);
  });

  it('write then read round-trips through a slot', () => {
    const fp = new FramePool(2, 4);
    const a = fp.alloc(0);
    const bb = fp.alloc(0);
    [1, -2, 3, -4].forEach((v, c) => fp.write(a, c, v));
    const b = new BackingStore(1, 4);
    b.writeFromFrame(0, fp.cells, a);
    b.readIntoFrame(0, fp.cells, bb);
    assert.deepEqual([0, 1, 2, 3].map((c) => fp.read(bb, c)), [1, -2, 3, -4]);
  });
});
