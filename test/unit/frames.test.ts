import assert from 'node:assert/strict';
import { FramePool, POISON } from '../../sim/model/frames.ts';

describe('model/frames: FramePool', () => {
  it('starts with every frame free and poisoned', () => {
    const fp = new FramePool(4, 3);
    assert.equal(fp.count, 4);
    assert.equal(fp.cellsPerFrame, 3);
    assert.equal(fp.allocatedCount(), 0);
    for (let f = 0; f < 4; f++) {
      assert.equal(fp.free[f], 1);
      assert.equal(fp.gen[f], 0);
      for (let c = 0; c < 3; c++) assert.equal(fp.read(f, c), POISON);
    }
  });

  it('POISON is the kernel POISON_FREE byte 0x6b repeated over a word', () => {
    assert.equal(POISON, 0x6b6b6b6b);
  });

  it('alloc takes the lowest free frame, with refcount 1 and the given owner', () => {
    const fp = new FramePool(4, 2);
    assert.equal(fp.alloc(7), 0);
    assert.equal(fp.alloc(8), 1);
    assert.equal(fp.alloc(9), 2);
    assert.equal(fp.refcount[1], 1);
    assert.equal(fp.mapcount[1], 0);
    assert.equal(fp.owner[1], 8);
    assert.equal(fp.lockOwner[1], -1);
    assert.equal(fp.free[1], 0);
    assert.equal(fp.allocatedCount(), 3);
  });

  it('alloc returns -1 when every frame is in use', () => {
    const fp = new FramePool(2, 1);
    fp.alloc(0);
    fp.alloc(0);
    assert.equal(fp.alloc(0), -1);
    assert.equal(fp.allocatedCount(), 2);
  });

  it('reuses a freed frame at once and deterministically (the lowest free one)', () => {
    const fp = new FramePool(4, 1);
    fp.alloc(0); // 0
    fp.alloc(0); // 1
    fp.alloc(0); // 2
    assert.equal(fp.put(1), true);
    assert.equal(fp.put(0), true);
    assert.equal(fp.alloc(0), 0, 'lowest free frame first');
    assert.equal(fp.alloc(0), 1);
    assert.equal(fp.alloc(0), 3);
  });

  it('bumps the generation on every allocation, including reuse', () => {
    const fp = new FramePool(2, 1);
    const f = fp.alloc(0);
    assert.equal(fp.gen[f], 1);
    fp.put(f);
    assert.equal(fp.gen[f], 1, 'freeing does not change the generation');
    assert.equal(fp.alloc(0), f);
    assert.equal(fp.gen[f], 2);
    fp.release(f);
    assert.equal(fp.alloc(0), f);
    assert.equal(fp.gen[f], 3);
    assert.equal(fp.gen[1], 0, 'other frames keep their generation');
  });

  it('alloc resets the per-allocation state left by the previous user', () => {
    const fp = new FramePool(1, 1);
    const f = fp.alloc(3);
    fp.mapcount[f] = 2;
    fp.dirty[f] = 1;
    fp.lazyfree[f] = 1;
    fp.lockOwner[f] = 5;
    fp.refcount[f] = 4;
    fp.release(f);
    assert.equal(fp.alloc(9), f);
    assert.equal(fp.refcount[f], 1);
    assert.equal(fp.mapcount[f], 0);
    assert.equal(fp.dirty[f], 0);
    assert.equal(fp.lazyfree[f], 0);
    assert.equal(fp.lockOwner[f], -1);
    assert.equal(fp.owner[f], 9);
  });

  it('put drops one reference and frees only at refcount 0', () => {
    const fp = new FramePool(2, 2);
    const f = fp.alloc(0);
    fp.refcount[f] = 3;
    fp.write(f, 0, 11);
    assert.equal(fp.put(f), false);
    assert.equal(fp.refcount[f], 2);
    assert.equal(fp.put(f), false);
    assert.equal(fp.free[f], 0);
    assert.equal(fp.read(f, 0), 11, 'content survives while referenced');
    assert.equal(fp.put(f), true);
    assert.equal(fp.refcount[f], 0);
    assert.equal(fp.free[f], 1);
    assert.equal(fp.allocatedCount(), 0);
  });

  it('freeing poisons every cell of the frame, and only of that frame', () => {
    const fp = new FramePool(2, 3);
    const a = fp.alloc(0);
    const b = fp.alloc(1);
    for (let c = 0; c < 3; c++) {
      fp.write(a, c, 10 + c);
      fp.write(b, c, 20 + c);
    }
    fp.put(a);
    for (let c = 0; c < 3; c++) {
      assert.equal(fp.read(a, c), POISON);
      assert.equal(fp.read(b, c), 20 + c);
    }
  });

  it('release frees regardless of the refcount (page_ref_freeze) and clears mapcount, owner, lock', () => {
    const fp = new FramePool(2, 2);
    const f = fp.alloc(4);
    fp.refcount[f] = 5;
    fp.mapcount[f] = 1;
    fp.lockOwner[f] = 2;
    fp.write(f, 1, 99);
    fp.release(f);
    assert.equal(fp.free[f], 1);
    assert.equal(fp.refcount[f], 0);
    assert.equal(fp.mapcount[f], 0);
    assert.equal(fp.owner[f], -1);
    assert.equal(fp.lockOwner[f], -1);
    assert.equal(fp.read(f, 0), POISON);
    assert.equal(fp.read(f, 1), POISON);
  });

  it('write and read address (frame, cell) independently', () => {
    const fp = new FramePool(3, 4);
    fp.alloc(0);
    fp.alloc(0);
    fp.write(1, 3, -5);
    fp.write(0, 3, 6);
    assert.equal(fp.read(1, 3), -5);
    assert.equal(fp.read(0, 3), 6);
    assert.equal(fp.read(1, 2), POISON);
    assert.equal(fp.read(2, 0), POISON);
  });

  it('copy duplicates a whole frame into another, leaving the source intact', () => {
    const fp = new FramePool(3, 3);
    const a = fp.alloc(0);
    const b = fp.alloc(0);
    [4, 5, 6].forEach((v, c) => fp.write(a, c, v));
    fp.copy(a, b);
    assert.deepEqual([0, 1, 2].map((c) => fp.read(b, c)), [4, 5, 6]);
    assert.deepEqual([0, 1, 2].map((c) => fp.read(a, c)), [4, 5, 6]);
    assert.deepEqual([0, 1, 2].map((c) => fp.read(2, c)), [POISON, POISON, POISON], 'neighbours untouched');
    fp.write(b, 0, 40);
    assert.equal(fp.read(a, 0), 4, 'the copy is independent');
  });

  it('zero clears exactly one frame', () => {
    const fp = new FramePool(3, 2);
    const a = fp.alloc(0);
    fp.zero(a);
    assert.deepEqual([fp.read(a, 0), fp.read(a, 1)], [0, 0]);
    assert.equal(fp.read(1, 0), POISON);
  });
});
