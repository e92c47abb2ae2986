import assert from 'node:assert/strict';
import { certificateOf } from '../../farm/certificate.ts';
import type { PrefixOutcome } from '../../farm/exhaustiveSpec.ts';

/**
 * An exhaustive campaign's certificate, read from its prefix jobs in search order as the unsplit
 * search would report it (farm/certificate.ts): the budget and the first race cut it where the
 * unsplit search would stop.
 */
const clean = (schedules: number, pruned = 0, verdicts = ['']): PrefixOutcome => ({ complete: true, schedules, pruned, verdicts, hit: null, exact: true });
const race = (schedules: number, pruned: number, execution: number, signature = 'ab12'): PrefixOutcome => ({
  complete: false,
  schedules,
  pruned,
  verdicts: ['', 'stale-read'],
  hit: { signature, oracle: 'stale-read', execution },
  exact: true,
});
const of = (outcomes: PrefixOutcome[], max = 1000, failed: number[] = [], total = outcomes.length) =>
  certificateOf({ bound: 2, maxSchedules: max }, total, new Map(outcomes.map((o, i) => [i, o])), new Set(failed));

describe('exhaustive certificate (farm/certificate.ts)', () => {
  it('every prefix clean and within the budget: complete, counts summed, verdicts united', () => {
    const x = of([clean(10, 2), clean(5, 1, ['', 'split-mapping']), clean(1)]);
    assert.equal(x.complete, true);
    assert.equal(x.stoppedBy, null);
    assert.equal(x.schedules, 16);
    assert.equal(x.pruned, 3);
    assert.deepEqual(x.verdicts, ['', 'split-mapping']);
    assert.equal(x.exact, true);
  });

  it('exactly the budget is complete (the unsplit search checks before each execution), one more is not', () => {
    assert.equal(of([clean(6, 2), clean(2)], 10).complete, true);
    const over = of([clean(6, 2), clean(3)], 10);
    assert.equal(over.complete, false);
    assert.equal(over.stoppedBy, 'budget');
    assert.equal(over.schedules, 8, 'at most the budget is counted');
    assert.equal(over.exact, false, 'where inside the job the cut falls is not known');
  });

  it('the first race in prefix order stops it, with the schedules up to it; later jobs only count as explored', () => {
    const x = of([clean(10), race(4, 1, 5, 'first'), race(2, 0, 2, 'later'), clean(50)]);
    assert.equal(x.stoppedBy, 'race');
    assert.equal(x.complete, false);
    assert.deepEqual(x.race, { prefix: 1, signature: 'first', oracle: 'stale-read' });
    assert.equal(x.schedules, 14);
    assert.equal(x.pruned, 1);
    assert.equal(x.exploredSchedules, 66);
  });

  it('a race past the budget is not found: the unsplit search stopped before it', () => {
    const x = of([clean(8), race(4, 0, 4)], 10);
    assert.equal(x.stoppedBy, 'budget');
    assert.equal(x.race, null);
  });

  it('a prefix not recorded yet is pending; one that failed for good is failed', () => {
    const pending = certificateOf({ bound: 2, maxSchedules: 100 }, 3, new Map([[0, clean(1)], [2, clean(1)]]), new Set());
    assert.equal(pending.stoppedBy, 'pending');
    assert.equal(pending.prefixesDone, 2);
    assert.equal(pending.schedules, 1);
    const failed = certificateOf({ bound: 2, maxSchedules: 100 }, 3, new Map([[0, clean(1)], [2, clean(1)]]), new Set([1]));
    assert.equal(failed.stoppedBy, 'failed');
    assert.equal(failed.complete, false);
  });

  it('a split with the reduction is not exact', () => {
    assert.equal(of([{ ...clean(3), exact: false }, clean(2)]).exact, false);
  });
});
