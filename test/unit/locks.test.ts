import assert from 'node:assert/strict';
import { RwSem, SpinLock } from '../../sim/model/locks.ts';

describe('model/locks', () => {
  describe('SpinLock', () => {
    it('is an open gate when free and closed while held', () => {
      const l = new SpinLock('ptl(A)');
      assert.equal(l.isOpen(), true);
      assert.equal(l.owner, -1);
      l.acquire(3);
      assert.equal(l.owner, 3);
      assert.equal(l.isOpen(), false);
      l.release(3);
      assert.equal(l.isOpen(), true);
      assert.equal(l.owner, -1);
    });

    it('acquire while held throws a model bug naming the lock and both threads', () => {
      const l = new SpinLock('ptl(A)');
      l.acquire(1);
      assert.throws(() => l.acquire(2), (e: Error) => /model bug/.test(e.message) && /ptl\(A\)/.test(e.message) && /by 2 while held by 1/.test(e.message));
      assert.throws(() => l.acquire(1), /model bug/, 'not recursive');
      assert.equal(l.owner, 1, 'a failed acquire leaves the owner');
    });

    it('release by a non-owner throws, and so does release of a free lock', () => {
      const l = new SpinLock('mmu_lock');
      l.acquire(1);
      assert.throws(() => l.release(2), /model bug: mmu_lock released by 2, owner 1/);
      assert.equal(l.owner, 1);
      l.release(1);
      assert.throws(() => l.release(1), /model bug/);
    });
  });

  describe('RwSem', () => {
    it('both gates are open when the semaphore is free', () => {
      const s = new RwSem();
      assert.equal(s.readGate.isOpen(), true);
      assert.equal(s.writeGate.isOpen(), true);
    });

    it('readers share it: the read gate stays open, the write gate closes until the last up_read', () => {
      const s = new RwSem();
      s.downRead();
      s.downRead();
      assert.equal(s.readers, 2);
      assert.equal(s.readGate.isOpen(), true);
      assert.equal(s.writeGate.isOpen(), false);
      s.upRead();
      assert.equal(s.writeGate.isOpen(), false);
      s.upRead();
      assert.equal(s.writeGate.isOpen(), true);
    });

    it('a writer closes both gates until up_write', () => {
      const s = new RwSem();
      s.downWrite(4);
      assert.equal(s.writer, 4);
      assert.equal(s.readGate.isOpen(), false);
      assert.equal(s.writeGate.isOpen(), false);
      s.upWrite();
      assert.equal(s.readGate.isOpen(), true);
      assert.equal(s.writeGate.isOpen(), true);
    });

    it('up_read without down_read throws', () => {
      const s = new RwSem();
      assert.throws(() => s.upRead(), /model bug: up_read without down_read/);
      s.downRead();
      s.upRead();
      assert.throws(() => s.upRead(), /model bug/);
    });
  });
});
