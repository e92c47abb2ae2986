import assert from 'node:assert/strict';
import { compile, labels, oracles, replay, sitesOf } from './helpers.ts';
import { CATALOG } from '../../sim/scenario/catalog.ts';
import { runOnce } from '../../sim/run.ts';
import { ReplayChooser } from '../../sim/schedule/replay.ts';
import { estimateSteps } from '../../sim/schedule/strategy.ts';
import type { Chooser } from '../../sim/schedule/chooser.ts';
import type { SimThread } from '../../sim/thread.ts';

/** The run loop (sim/run.ts): thread order, decisions, budgets; and every catalog scenario run sequentially. */

/** One COW page written by one CPU (17 steps with no preemption, see fault.test.ts). */
function cow(maxSteps?: number) {
  return compile({
    name: 'cow',
    world: maxSteps === undefined ? {} : { maxSteps },
    pages: { A: { cells: [1, 2, 3, 4], cow: true } },
    threads: [{ name: 'cpu0', on: 'cpu', ops: [['write', 'A', 0, 7], ['read', 'A', 0], ['read', 'A', 1]] }],
  });
}

/** Records what the run loop offers the chooser, and picks the lowest id. */
class Spy implements Chooser {
  readonly offers: { ids: number[]; step: number }[] = [];
  pick(enabled: readonly SimThread[], count: number, step: number): SimThread {
    this.offers.push({ ids: enabled.slice(0, count).map((t) => t.id), step });
    return enabled[0];
  }
}

describe('run: runOnce', () => {
  it('thread ids are the scenario thread order, then iommu-fault', () => {
    const sc = compile({
      name: 'ids',
      pages: { A: {} },
      devices: [{ name: 'd' }],
      threads: [
        { name: 'k', on: 'kernel', ops: [] },
        { name: 'x', on: 'device:d', ops: [] },
        { name: 'c', on: 'cpu', ops: [] },
      ],
    });
    const r = replay(sc, 'v4.13');
    assert.deepEqual(r.threadNames, ['k', 'x', 'c', 'iommu-fault']);
    assert.equal(r.steps, 0, 'threads without ops run no step');
    assert.deepEqual(r.violations, []);
  });

  it('the chooser is offered the enabled threads in id order, once per step; decisions record only points with two or more', () => {
    const sc = compile({
      name: 'two',
      pages: { A: {} },
      threads: [
        { name: 'c0', on: 'cpu', ops: [['read', 'A', 0]] },
        { name: 'c1', on: 'cpu', ops: [['read', 'A', 1], ['read', 'A', 2]] },
      ],
    });
    const spy = new Spy();
    const r = runOnce(sc, sitesOf('v4.13'), spy);
    assert.equal(spy.offers.length, r.steps);
    spy.offers.forEach((o, i) => {
      assert.equal(o.step, i);
      assert.deepEqual(o.ids, [...o.ids].sort((a, b) => a - b));
    });
    const multi = spy.offers.filter((o) => o.ids.length > 1);
    assert.equal(r.decisions.length, multi.length);
    assert.deepEqual(r.decisions, multi.map((o) => o.ids[0]));
    // c0's single read (1 step) then c1's two reads: the IOMMU worker is never enabled (no requests)
    assert.deepEqual(spy.offers.map((o) => o.ids), [[0, 1], [1], [1]]);
  });

  it('ReplayChooser([]) runs without preemption: lowest id first, each thread to its end', () => {
    const sc = compile({
      name: 'two',
      pages: { A: {} },
      threads: [
        { name: 'c0', on: 'cpu', ops: [['read', 'A', 0], ['read', 'A', 1]] },
        { name: 'c1', on: 'cpu', ops: [['read', 'A', 2]] },
      ],
    });
    const r = replay(sc, 'v4.13');
    assert.deepEqual(r.trace!.map((x) => r.threadNames[x.thread]), ['c0', 'c0', 'c1']);
    assert.deepEqual(r.decisions, [0, 0]);
  });

  it('a decision list makes another thread run first', () => {
    const sc = compile({
      name: 'two',
      pages: { A: {} },
      threads: [
        { name: 'c0', on: 'cpu', ops: [['read', 'A', 0]] },
        { name: 'c1', on: 'cpu', ops: [['read', 'A', 2]] },
      ],
    });
    const r = replay(sc, 'v4.13', [1]);
    assert.deepEqual(r.trace!.map((x) => r.threadNames[x.thread]), ['c1', 'c0']);
    assert.deepEqual(r.decisions, [1]);
  });

  it('trace rows number the steps from 0 and name the page', () => {
    const r = replay(cow(), 'v4.13');
    assert.deepEqual(r.trace!.map((x) => x.step), Array.from({ length: r.steps }, (_, i) => i));
    assert.ok(r.trace!.every((x) => x.page === 'A'));
  });

  it('an untraced run has no trace but the same steps, decisions and verdicts', () => {
    const sc = cow();
    const a = runOnce(sc, sitesOf('v4.13'), new ReplayChooser([]));
    const b = replay(sc, 'v4.13');
    assert.equal(a.trace, null);
    assert.equal(a.steps, b.steps);
    assert.deepEqual(a.decisions, b.decisions);
    assert.deepEqual(a.violations, b.violations);
  });

  describe('step budget', () => {
    const full = replay(cow(), 'v4.13').steps;

    it(`the cow run takes more than 10 steps (${full})`, () => {
      assert.ok(full > 10);
      assert.equal(estimateSteps(cow(), sitesOf('v4.13')), full);
    });

    it('world.maxSteps 10 → step-budget after exactly 10 steps', () => {
      const r = replay(cow(10), 'v4.13');
      assert.equal(r.steps, 10);
      assert.deepEqual(oracles(r), ['step-budget']);
      const v = r.violations[0];
      assert.equal(v.thread, -1, 'not a step of any thread');
      assert.match(v.message, /exceeded 10 steps/);
      assert.equal(labels(r).length, 10);
    });

    it('RunOptions.maxSteps overrides world.maxSteps', () => {
      const r = replay(cow(), 'v4.13', [], { maxSteps: 12 });
      assert.equal(r.steps, 12);
      assert.deepEqual(oracles(r), ['step-budget']);
      const big = replay(cow(10), 'v4.13', [], { maxSteps: 1000 });
      assert.deepEqual(big.violations, []);
    });

    it('a budget of exactly the run length is enough; one less is not', () => {
      assert.deepEqual(replay(cow(), 'v4.13', [], { maxSteps: full }).violations, []);
      assert.deepEqual(oracles(replay(cow(), 'v4.13', [], { maxSteps: full - 1 })), ['step-budget']);
    });
  });

  describe('catalog scenarios, no preemption', () => {
    for (const e of CATALOG) {
      for (const preset of e.correct ?? ['v4.13', 'v4.15']) {
        it(`${e.scenario.name} under ${preset} (a correct preset for it) has no violation`, () => {
          const r = replay(compile(e.scenario), preset);
          assert.deepEqual(r.violations.map((v) => `${v.oracle}: ${v.message}`), []);
          assert.ok(r.steps > 0);
        });
      }
    }

    for (const e of CATALOG) {
      if (!(e.correct ?? ['v4.13']).includes('v4.13')) continue;
      it(`${e.scenario.name} under v4.13 has no violation`, () => {
        assert.deepEqual(replay(compile(e.scenario), 'v4.13').violations, []);
      });
    }
  });
});
