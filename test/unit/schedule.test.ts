import assert from 'node:assert/strict';
import { SimThread } from '../../sim/thread.ts';
import { RandomChooser, prng } from '../../sim/schedule/random.ts';
import { PctChooser } from '../../sim/schedule/pct.ts';
import { ReplayChooser } from '../../sim/schedule/replay.ts';
import { makeChooser, threadCount } from '../../sim/schedule/strategy.ts';
import type { Chooser } from '../../sim/schedule/chooser.ts';
import { compile } from './helpers.ts';

/** The scheduling strategies (sim/schedule/): random, PCT, replay. */

const T = [0, 1, 2, 3].map((i) => new SimThread(i, `t${i}`, 'cpu', i));

function pickId(c: Chooser, ids: number[], step = 0): number {
  const enabled = ids.map((i) => T[i]);
  const t = c.pick(enabled, enabled.length, step);
  assert.ok(t, 'a pick');
  return t.id;
}

describe('schedule', () => {
  describe('prng', () => {
    it('is deterministic per seed string and differs between seeds', () => {
      const a = prng('x');
      const b = prng('x');
      const c = prng('y');
      const sa = [a(), a(), a()];
      assert.deepEqual([b(), b(), b()], sa);
      assert.notDeepEqual([c(), c(), c()], sa);
      for (const v of sa) assert.ok(v >= 0 && v < 1);
    });
  });

  describe('RandomChooser', () => {
    it('the same seed gives the same picks', () => {
      const a = new RandomChooser(7);
      const b = new RandomChooser(7);
      for (let i = 0; i < 50; i++) assert.equal(pickId(a, [0, 1, 2, 3], i), pickId(b, [0, 1, 2, 3], i));
    });

    it('only picks enabled threads, and reaches each of them', () => {
      const c = new RandomChooser(1);
      const seen = new Set<number>();
      for (let i = 0; i < 200; i++) {
        const id = pickId(c, [1, 3], i);
        assert.ok(id === 1 || id === 3);
        seen.add(id);
      }
      assert.deepEqual([...seen].sort(), [1, 3]);
    });

    it('does not consume randomness when only one thread is enabled', () => {
      const a = new RandomChooser(3);
      const b = new RandomChooser(3);
      const pa: number[] = [];
      const pb: number[] = [];
      for (let i = 0; i < 20; i++) {
        pa.push(pickId(a, [0, 1, 2]));
        assert.equal(pickId(b, [2]), 2);
        pb.push(pickId(b, [0, 1, 2]));
      }
      assert.deepEqual(pb, pa);
    });
  });

  describe('PctChooser', () => {
    it('is deterministic per seed', () => {
      const a = new PctChooser(5, 4, 3, 40);
      const b = new PctChooser(5, 4, 3, 40);
      for (let s = 0; s < 60; s++) assert.equal(pickId(a, [0, 1, 2, 3], s), pickId(b, [0, 1, 2, 3], s));
    });

    it('depth 1 (no change point): always the same highest-priority thread while it is enabled', () => {
      for (let seed = 0; seed < 10; seed++) {
        const c = new PctChooser(seed, 4, 1, 100);
        const first = pickId(c, [0, 1, 2, 3], 0);
        for (let s = 1; s < 100; s++) assert.equal(pickId(c, [0, 1, 2, 3], s), first);
        // without it, the next priority wins, again consistently
        const second = pickId(c, [0, 1, 2, 3].filter((i) => i !== first), 100);
        assert.notEqual(second, first);
        assert.equal(pickId(c, [0, 1, 2, 3].filter((i) => i !== first), 101), second);
      }
    });

    it('depth d: at most d-1 changes of the running thread when all stay enabled', () => {
      for (let seed = 0; seed < 20; seed++) {
        for (const d of [2, 3, 4]) {
          const c = new PctChooser(seed, 4, d, 30);
          let changes = 0;
          let last = pickId(c, [0, 1, 2, 3], 0);
          for (let s = 1; s < 40; s++) {
            const id = pickId(c, [0, 1, 2, 3], s);
            if (id !== last) changes++;
            last = id;
          }
          assert.ok(changes <= d - 1, `seed ${seed} depth ${d}: ${changes} changes`);
        }
      }
    });

    it('across seeds, every thread gets the top priority sometimes (the priorities are a random permutation)', () => {
      const firsts = new Set<number>();
      for (let seed = 0; seed < 60; seed++) firsts.add(pickId(new PctChooser(seed, 4, 1, 10), [0, 1, 2, 3]));
      assert.deepEqual([...firsts].sort(), [0, 1, 2, 3]);
    });
  });

  describe('ReplayChooser', () => {
    it('follows the recorded decisions at points with two or more enabled threads', () => {
      const c = new ReplayChooser([2, 0, 1]);
      assert.equal(pickId(c, [0, 1, 2]), 2);
      assert.equal(pickId(c, [1]), 1, 'a forced step consumes no decision');
      assert.equal(pickId(c, [0, 1, 2]), 0);
      assert.equal(pickId(c, [0, 1]), 1);
      assert.equal(c.diverged, 0);
    });

    it('when the record runs out, keeps running the last thread if it can, else the lowest id', () => {
      const c = new ReplayChooser([2]);
      assert.equal(pickId(c, [0, 1, 2]), 2);
      assert.equal(pickId(c, [0, 1, 2]), 2);
      assert.equal(pickId(c, [0, 1]), 0);
      assert.equal(pickId(c, [0, 1]), 0);
      assert.equal(c.diverged, 0);
    });

    it('a recorded thread that is not enabled counts as a divergence and falls back the same way', () => {
      const c = new ReplayChooser([1, 3, 3]);
      assert.equal(pickId(c, [0, 1]), 1);
      assert.equal(pickId(c, [0, 1, 2]), 1, 'thread 3 is not enabled: keep the last one (1)');
      assert.equal(pickId(c, [0, 2]), 0, 'neither 3 nor the last one: lowest id');
      assert.equal(c.diverged, 2);
    });

    it('with no decisions: lowest id first, then keep running it', () => {
      const c = new ReplayChooser([]);
      assert.equal(pickId(c, [1, 2, 3]), 1);
      assert.equal(pickId(c, [0, 1, 2]), 1);
    });
  });

  describe('strategy', () => {
    it('threadCount counts the scenario threads plus the IOMMU fault worker', () => {
      const withIommu = compile({ name: 'a', pages: { A: {} }, threads: [{ name: 'c', on: 'cpu', ops: [] }, { name: 'k', on: 'kernel', ops: [] }] });
      assert.equal(threadCount(withIommu), 3);
      const without = compile({ name: 'b', world: { iommu: 'none' }, pages: { A: {} }, threads: [{ name: 'c', on: 'cpu', ops: [] }] });
      assert.equal(threadCount(without), 1);
    });

    it('makeChooser builds the chooser of the strategy with the seed', () => {
      const r = makeChooser({ name: 'random', depth: 3, kSteps: 10 }, 9, 4);
      assert.ok(r instanceof RandomChooser);
      const p = makeChooser({ name: 'pct', depth: 3, kSteps: 10 }, 9, 4);
      assert.ok(p instanceof PctChooser);
      const ref = new PctChooser(9, 4, 3, 10);
      for (let s = 0; s < 20; s++) assert.equal(pickId(p, [0, 1, 2, 3], s), pickId(ref, [0, 1, 2, 3], s));
    });
  });
});
