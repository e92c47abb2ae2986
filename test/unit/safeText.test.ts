import assert from 'node:assert/strict';
import { escapeLines, escapeProblem, escapeText, hasLoneSurrogate, inputReport, jsonLine } from '../../farm/safeText.ts';

const RAW = /[\u0000-\u001f\u007f-\u009f]/;

describe('farm/safeText: text echoed to clients and terminals', () => {
  it('escapes C0, DEL, C1 and lone surrogates, keeps surrogate pairs, caps with the count left out', () => {
    assert.equal(escapeText('a\u001b[2Jb\u009bc\u007f\n'), 'a\\u001b[2Jb\\u009bc\\u007f\\u000a');
    assert.equal(escapeText('x\ud800y\udc00'), 'x\\ud800y\\udc00');
    assert.equal(escapeText('😀'), '😀');
    const capped = escapeText('k'.repeat(10_000), 100);
    assert.equal(capped, `${'k'.repeat(100)}… (9900 more characters)`);
    assert.ok(!hasLoneSurrogate(escapeText('\ud83d', 10)));
  });

  it('caps a problem\'s field path and message apart, and lists at most 20 problems', () => {
    const p = escapeProblem(`sites.${'k'.repeat(1_000_000)}: unknown site (sites: a, b)`);
    assert.match(p, /^sites\.k+… \(\d+ more characters\): unknown site \(sites: a, b\)$/);
    assert.ok(p.length < 300);
    const lines = escapeLines(Array.from({ length: 100_000 }, (_, i) => `sites.s${i}: unknown site`));
    assert.equal(lines.length, 21);
    assert.equal(lines[20], '… and 99980 more');
    const report = inputReport('invalid variant', ['sites.\u001b[31m: unknown site']);
    assert.equal(report, 'invalid variant:\n  sites.\\u001b[31m: unknown site');
  });

  it('jsonLine escapes DEL and C1 and parses back to the same value', () => {
    const v = { name: '\u001b[2J\u009b1m\u007f\u2028', n: 1 };
    const line = jsonLine(v);
    assert.ok(!RAW.test(line), line);
    assert.deepEqual(JSON.parse(line), v);
  });
});
