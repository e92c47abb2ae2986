import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalogEntry } from '../sim/scenario/catalog.ts';
import { ROOT } from './helpers/farm.ts';
import { runProcess } from './helpers/run.ts';

const fuzz = (...args: string[]) => runProcess(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'fuzz', ...args], ROOT);

describe('finding files are named <scenario>.<signature>.json', function () {
  this.timeout(60_000);
  const tmp = mkdtempSync(join(tmpdir(), 'racefarm-files-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('two scenarios that find the same race (one signature) into one --out directory keep both files', async () => {
    // The same program under another name: the signature (oracle, variant, participants) is the same.
    const copy = join(tmp, 'copy.json');
    writeFileSync(copy, JSON.stringify({ ...catalogEntry('cow-two-pages')!.scenario, name: 'cow-two-pages-copy' }));
    const out = join(tmp, 'out');
    // Seeds [2000, 2100) hold the stale read at seed 2041.
    const common = ['--variant', 'range-end-only', '--seed-start', '2000', '--seeds', '100', '--workers', '1', '--out', out, '--json'];
    const [a, b] = await Promise.all([fuzz('--scenario', 'cow-two-pages', ...common), fuzz('--scenario', copy, ...common)]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    type Out = { findings: { signature: string; file: string; seed: number }[] };
    const fa = (JSON.parse(a.stdout) as Out).findings;
    const fb = (JSON.parse(b.stdout) as Out).findings;
    assert.ok(fa.length > 0);
    assert.deepEqual(fa.map((f) => [f.signature, f.seed]), fb.map((f) => [f.signature, f.seed]), 'same races, same seeds');
    const want = [...fa.map((f) => `cow-two-pages.${f.signature}.json`), ...fb.map((f) => `cow-two-pages-copy.${f.signature}.json`)].sort();
    assert.deepEqual(readdirSync(out).sort(), want);
    for (const [list, name] of [[fa, 'cow-two-pages'], [fb, 'cow-two-pages-copy']] as const) {
      for (const f of list) {
        assert.equal(f.file, join(out, `${name}.${f.signature}.json`));
        assert.equal(JSON.parse(readFileSync(f.file, 'utf8')).scenario.name, name);
      }
    }
  });
});
