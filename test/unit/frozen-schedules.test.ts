import assert from 'node:assert/strict';
import { compile, sitesOf } from './helpers.ts';
import { catalogEntry } from '../../sim/scenario/catalog.ts';
import { runOnce } from '../../sim/run.ts';
import { RandomChooser } from '../../sim/schedule/random.ts';
import { PctChooser } from '../../sim/schedule/pct.ts';
import { estimateSteps, threadCount } from '../../sim/schedule/strategy.ts';
import { SIM_VERSION } from '../../sim/version.ts';

/**
 * FROZEN seed → decisions records: cow-two-pages under v4.13, RandomChooser seeds 0..4 and
 * PctChooser(seed, threadCount, depth 3, kSteps = estimateSteps) seeds 0..4. A finding stores only
 * (scenario, variant, strategy, seed, decisions) and replays under the same SIM_VERSION, so the
 * scheduler's output for a seed must never change by accident.
 *
 * If this fails after an intentional model change, bump SIM_VERSION in sim/version.ts and
 * regenerate these arrays (run each seed once with runOnce and paste r.steps / r.decisions).
 */
const RECORDED_UNDER = 'racefarm-sim/0.6.4';
const K_STEPS = 36;
const THREADS = 8; // cpu0 cpu1 cpu2 cpu3 dev0 dev2 + iommu-fault, iommu-fault1 (amd_iommu_v2's multi-worker iommu_wq: one per device thread)

const RANDOM: readonly { steps: number; decisions: number[] }[] = [
  { steps: 60, decisions: [2, 5, 1, 2, 5, 0, 0, 2, 2, 1, 4, 2, 4, 1, 3, 3, 1, 0, 1, 2, 3, 0, 3, 3, 2, 3, 1, 0, 1, 2, 1, 0, 2, 2, 2, 1, 3, 0, 0, 1, 1, 0, 2, 1, 3, 0, 2, 2, 0, 3, 1, 3, 0, 2, 1, 1, 3, 0] },
  { steps: 54, decisions: [3, 2, 3, 3, 3, 0, 1, 2, 0, 3, 3, 4, 0, 2, 3, 4, 1, 1, 5, 3, 5, 0, 3, 3, 3, 0, 3, 1, 1, 2, 0, 2, 3, 1, 2, 2, 1, 3, 0, 2, 2, 2, 3, 2, 0, 0, 2, 0, 0, 2, 2] },
  { steps: 60, decisions: [1, 1, 3, 4, 0, 3, 4, 2, 2, 5, 1, 2, 5, 2, 3, 1, 0, 1, 1, 2, 2, 3, 1, 3, 0, 3, 0, 3, 2, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0, 2, 2, 1, 0, 3, 3, 0, 2, 2, 1, 2, 0, 3, 3, 3, 2] },
  { steps: 55, decisions: [5, 4, 5, 2, 2, 3, 3, 3, 1, 0, 3, 4, 2, 2, 3, 2, 1, 1, 1, 2, 3, 2, 1, 2, 1, 3, 3, 2, 0, 2, 0, 2, 1, 2, 0, 3, 0, 2, 2, 3, 3, 3, 1, 1, 1, 0, 0, 3, 0, 2, 3, 3] },
  { steps: 60, decisions: [3, 0, 1, 4, 3, 1, 5, 4, 1, 3, 1, 0, 1, 1, 2, 2, 5, 2, 0, 2, 3, 3, 1, 1, 3, 2, 2, 0, 2, 1, 1, 0, 2, 3, 1, 1, 3, 2, 2, 3, 1, 3, 0, 1, 0, 2, 2, 1, 3, 3, 3, 2, 0, 0, 0, 2, 0, 0, 0] },
];

const PCT_DEPTH = 3;
const PCT: readonly { steps: number; decisions: number[] }[] = [
  { steps: 48, decisions: [2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 5, 5, 4, 4, 0, 3, 3, 3, 3, 3, 3] },
  { steps: 42, decisions: [2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 4, 4, 1, 1, 1, 1, 1, 1, 1, 1, 5, 5, 0, 3, 3, 3, 3, 3, 3, 3] },
  { steps: 48, decisions: [3, 3, 3, 3, 3, 3, 5, 5, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 4, 4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 3, 3, 3, 3, 3] },
  { steps: 42, decisions: [4, 4, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 5, 5, 1, 1, 1, 1, 1, 1, 1] },
  { steps: 42, decisions: [4, 4, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 0, 5, 5, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1] },
];

describe('frozen schedules: cow-two-pages under v4.13 (bump SIM_VERSION and regenerate on an intentional change)', () => {
  const sc = compile(catalogEntry('cow-two-pages')!.scenario);
  const sites = sitesOf('v4.13');

  it(`the records were made under ${RECORDED_UNDER}`, () => {
    assert.equal(SIM_VERSION, RECORDED_UNDER, 'SIM_VERSION changed: regenerate the frozen arrays below and update RECORDED_UNDER');
  });

  it('PCT inputs: kSteps (the no-preemption run length) and the thread count', () => {
    assert.equal(threadCount(sc), THREADS);
    assert.equal(estimateSteps(sc, sites), K_STEPS);
  });

  RANDOM.forEach((want, seed) => {
    it(`random seed ${seed}`, () => {
      const r = runOnce(sc, sites, new RandomChooser(seed));
      assert.deepEqual({ steps: r.steps, decisions: r.decisions }, want);
      assert.deepEqual(r.violations, [], 'v4.13 is correct on this scenario');
    });
  });

  PCT.forEach((want, seed) => {
    it(`pct depth ${PCT_DEPTH} seed ${seed}`, () => {
      const r = runOnce(sc, sites, new PctChooser(seed, threadCount(sc), PCT_DEPTH, estimateSteps(sc, sites)));
      assert.deepEqual({ steps: r.steps, decisions: r.decisions }, want);
      assert.deepEqual(r.violations, [], 'v4.13 is correct on this scenario');
    });
  });
});
