import assert from 'node:assert/strict';
import { fnv1a64 } from '../../sim/util/hash.ts';

/** Reference FNV-1a 64 over the string's bytes (all test strings are ASCII), with BigInt arithmetic. */
function referenceFnv1a64(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (const b of Buffer.from(text, 'latin1')) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
}

describe('util/hash: fnv1a64', () => {
  it('"" → cbf29ce484222325 (the offset basis)', () => {
    assert.equal(fnv1a64(''), 'cbf29ce484222325');
  });

  it('"a" → af63dc4c8601ec8c', () => {
    assert.equal(fnv1a64('a'), 'af63dc4c8601ec8c');
  });

  it('"foobar" → 85944171f73967e8', () => {
    assert.equal(fnv1a64('foobar'), '85944171f73967e8');
  });

  it('agrees with a BigInt reference implementation on ASCII strings', () => {
    for (const s of ['b', 'hello world', 'racefarm', 'use-after-free\u0000v4.13\u0000device DMA read']) {
      assert.equal(fnv1a64(s), referenceFnv1a64(s), JSON.stringify(s));
    }
  });

  it('the reference implementation used above matches the published vectors', () => {
    assert.equal(referenceFnv1a64(''), 'cbf29ce484222325');
    assert.equal(referenceFnv1a64('a'), 'af63dc4c8601ec8c');
    assert.equal(referenceFnv1a64('foobar'), '85944171f73967e8');
  });

  it('always returns 16 lowercase hex digits, and is deterministic', () => {
    for (const s of ['', 'a', 'foobar', 'x'.repeat(1000), '\u0000', 'é€😀']) {
      const h = fnv1a64(s);
      assert.match(h, /^[0-9a-f]{16}$/, JSON.stringify(s));
      assert.equal(fnv1a64(s), h);
    }
  });

  it('distinguishes strings that differ in one character', () => {
    assert.notEqual(fnv1a64('stale-read'), fnv1a64('stale-reae'));
    assert.notEqual(fnv1a64('ab'), fnv1a64('ba'));
  });
});
