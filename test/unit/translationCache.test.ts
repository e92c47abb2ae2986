import assert from 'node:assert/strict';
import { TranslationCache } from '../../sim/model/translationCache.ts';

describe('model/translationCache: TranslationCache', () => {
  it('starts empty', () => {
    const c = new TranslationCache('cpu0.tlb', 3);
    assert.equal(c.name, 'cpu0.tlb');
    assert.deepEqual([...c.valid], [0, 0, 0]);
    assert.deepEqual([...c.frame], [-1, -1, -1]);
  });

  it('fill records frame, generation and write permission for one page', () => {
    const c = new TranslationCache('dev0.atc', 3);
    c.fill(1, 7, 2, true);
    assert.equal(c.valid[1], 1);
    assert.equal(c.frame[1], 7);
    assert.equal(c.gen[1], 2);
    assert.equal(c.write[1], 1);
    assert.equal(c.valid[0], 0);
    c.fill(1, 8, 3, false);
    assert.deepEqual([c.frame[1], c.gen[1], c.write[1]], [8, 3, 0], 'a refill replaces the entry');
  });

  it('flush drops one entry and reports whether there was one', () => {
    const c = new TranslationCache('amd-v2.iotlb', 2);
    c.fill(0, 4, 1, true);
    c.fill(1, 5, 1, true);
    assert.equal(c.flush(0), true);
    assert.equal(c.valid[0], 0);
    assert.equal(c.frame[0], -1);
    assert.equal(c.write[0], 0);
    assert.equal(c.valid[1], 1, 'other page kept');
    assert.equal(c.flush(0), false, 'nothing left to drop');
  });

  it('flushAll empties every page', () => {
    const c = new TranslationCache('t', 3);
    c.fill(0, 1, 1, true);
    c.fill(2, 3, 1, false);
    c.flushAll();
    assert.deepEqual([...c.valid], [0, 0, 0]);
    assert.deepEqual([...c.frame], [-1, -1, -1]);
    assert.deepEqual([...c.write], [0, 0, 0]);
    for (let p = 0; p < 3; p++) assert.equal(c.flush(p), false);
  });
});
