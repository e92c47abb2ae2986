import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runProcess, type Ran } from './helpers/run.ts';
import { CATALOG } from '../sim/scenario/catalog.ts';
import { compileScenario } from '../sim/scenario/compile.ts';
import { Eta } from '../cli/eta.ts';
import { commandPrefix } from '../cli/invocation.ts';

/**
 * README.md's examples stay true: the documented commands are run as documented and their output
 * compared with what the README shows (the shape — keys and types — where a value depends on the
 * model; the exact text where the README quotes it).
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

function run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Ran> {
  return runProcess(cmd, args, ROOT, env);
}

/** `npm run -s racefarm -- ARGS`, without npm in between. */
const racefarm = (...args: string[]) => run(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'main.ts'), ...args]);

/** The shape of a JSON value: types, keys of objects, the shape of an array's first element. */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.length === 0 ? [] : [shape(v[0])];
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)]));
  return typeof v;
}

/** The README's `{"a","b","c":[{"d"}]}` key lists, as sets of top-level keys. */
function documentedKeys(after: string): string[] {
  const at = README.indexOf(after);
  assert.ok(at >= 0, `README no longer says ${after}`);
  const m = /`(\{"[^`]*\})`/.exec(README.slice(at));
  assert.ok(m, `no key list after ${after}`);
  // Top-level keys only: drop nested [...] and {...} groups first.
  let text = m[1].slice(1, -1);
  for (let i = 0; i < 5; i++) text = text.replace(/\[[^[\]]*\]|\{[^{}]*\}/g, '');
  return [...text.matchAll(/"(\w+)"/g)].map((x) => x[1]);
}

describe('README examples', function () {
  this.timeout(180_000);
  const tmp = mkdtempSync(join(tmpdir(), 'racefarm-readme-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('the quick start campaign with --json prints the documented object (npm run -s fuzz -- --json)', async () => {
    const block = /`npm run -s fuzz -- --json`[^\n]*\n[^`]*```json\n(.*)\n```/.exec(README);
    assert.ok(block, 'README documents `npm run -s fuzz -- --json` with a JSON example');
    const documented = JSON.parse(block[1]) as Record<string, unknown>;
    const out = join(tmp, 'quick');
    const r = await run('npm', ['run', '-s', 'fuzz', '--', '--json', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const got = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.deepEqual(shape(got), shape(documented));
    assert.equal(got.schedules, documented.schedules);
    const f = (got.findings as { oracle: string; seed: number; file: string }[])[0];
    const d = (documented.findings as { oracle: string; seed: number }[])[0];
    assert.equal(f.oracle, d.oracle);
    assert.equal(f.seed, d.seed, 'the seed the README names');
    assert.match(README, new RegExp(`at seed ${f.seed}\\b`), 'the quick start text names the same seed');
    assert.equal(got.coverage, null, 'coverage is not collected unless asked (--coverage)');
  });

  it('the text summary shows the shrink and coverage, and a replay hint for the command that ran', async () => {
    const out = join(tmp, 'text');
    const r = await run('npm', ['run', '-s', 'racefarm', '--', 'fuzz', '--scenario', 'cow-two-pages', '--variant', 'range-end-only', '--seeds', '4000', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^coverage\s+not collected/m);
    assert.match(r.stdout, /steps \(shrunk\)\s+threads \(shrunk\)/);
    const row = r.stdout.split('\n').find((l) => /^observable +stale-read /.test(l));
    assert.ok(row);
    const [, sb, sa, tb, ta] = /(\d+) → (\d+)\s+(\d+) → (\d+)/.exec(row) ?? [];
    assert.ok(Number(sa) <= Number(sb) && Number(ta) <= Number(tb), row);
    const file = readdirSync(out)[0];
    const shrunk = JSON.parse(readFileSync(join(out, file), 'utf8')) as { steps: number; scenario: { threads: unknown[] } };
    assert.equal(Number(sa), shrunk.steps, 'the steps after shrinking are the finding file’s');
    assert.equal(Number(ta), shrunk.scenario.threads.length);
    assert.match(r.stdout, new RegExp(`replay one with: npm run -s racefarm -- repro ${out}/${file}`));
    assert.match(r.stderr, /seeds \[0, 4000\)/, 'seed ranges are written [S, S+N)');
  });

  it('the replay hint says racefarm when installed and node bin/racefarm.mjs for the checkout bin', () => {
    assert.equal(commandPrefix(['node', '/usr/local/bin/racefarm']), 'racefarm');
    assert.equal(commandPrefix(['node', '/p/lib/node_modules/racefarm/bin/racefarm.mjs']), 'racefarm');
    assert.equal(commandPrefix(['node', '/src/racefarm/bin/racefarm.mjs'], '/src/racefarm'), 'node bin/racefarm.mjs');
    assert.equal(commandPrefix(['node', '/src/racefarm/cli/main.ts']), 'npm run -s racefarm --');
  });

  it('the progress ETA is measured from the first report, never from process start', () => {
    const eta = new Eta(100_000);
    assert.equal(eta.update(0, 0), 'estimating');
    // Start-up took 5 s, then 10,000 seeds per second.
    assert.equal(eta.update(1000, 5000), 'estimating');
    assert.equal(eta.update(11_000, 6000), '9s');
    assert.equal(eta.update(51_000, 10_000), '5s');
    assert.equal(eta.update(100_000, 11_000), '0s');
  });

  it('repro --json prints the documented keys', async () => {
    const out = join(tmp, 'quick');
    const file = join(out, readdirSync(out)[0]);
    const r = await racefarm('repro', file, '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(Object.keys(JSON.parse(r.stdout) as object).sort(), documentedKeys('`--json` prints\n').sort());
  });

  it('trace prints any run, with or without a violation, and --json the documented keys', async () => {
    const clean = await racefarm('trace', '--scenario', 'zap-gather-free', '--variant', 'v4.13', '--seed', '3');
    assert.equal(clean.code, 0, clean.stderr);
    assert.match(clean.stdout, /zap/, 'the trace shows the zap path');
    assert.match(clean.stdout, /no violation in \d+ steps/);
    const html = join(tmp, 'trace.html');
    const j = await racefarm('trace', '--scenario', 'zap-gather-free', '--variant', 'v4.13', '--seed', '3', '--json', '--html', html);
    assert.equal(j.code, 0, j.stderr);
    const got = JSON.parse(j.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(got).sort(), documentedKeys('### `trace`').sort());
    assert.deepEqual(got.violations, []);
    assert.match(readFileSync(html, 'utf8'), /No violation in this run/);
    const bad = await racefarm('trace', '--scenario', 'zap-gather-free', '--strategy', 'coverage', '--seed', '3');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--strategy: "coverage"/);
  });

  it('the trace of a finding’s seed shows the same violation the campaign found', async () => {
    const r = await racefarm('trace', '--scenario', 'cow-two-pages', '--variant', 'range-end-only', '--seed', '2041', '--json');
    const got = JSON.parse(r.stdout) as { violations: { oracle: string }[] };
    assert.ok(got.violations.some((v) => v.oracle === 'stale-read'));
  });

  it('scenarios lists each scenario with its buggy variant; scenarios NAME prints JSON that compiles back', async () => {
    const list = await racefarm('scenarios');
    assert.equal(list.code, 0);
    for (const e of CATALOG) assert.match(list.stdout, new RegExp(`^${e.scenario.name}\\s+${e.buggyVariant}\\s`, 'm'));
    const one = await racefarm('scenarios', 'kvm-stale-spte');
    assert.equal(one.code, 0, one.stderr);
    const json = JSON.parse(one.stdout) as unknown;
    assert.deepEqual(json, compileScenario(CATALOG.find((e) => e.scenario.name === 'kvm-stale-spte')!.scenario).source);
    const file = join(tmp, 'edited.json');
    writeFileSync(file, one.stdout);
    const f = await racefarm('fuzz', '--scenario', file, '--variant', 'kvm-no-retry', '--seeds', '500', '--workers', '1', '--json', '--out', join(tmp, 'edited'));
    assert.equal(f.code, 0, f.stderr);
    const missing = await racefarm('scenarios', 'no-such');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /"no-such" is not a built-in scenario \(cow-two-pages,/);
  });

  it('bad input is reported as the README shows: JSON line and column, every schema problem in compile-error words', async () => {
    const quoted = /`(not valid JSON: line 3, column 21: [^`]*)`/.exec(README);
    assert.ok(quoted);
    const trailing = join(tmp, 'trailing.json');
    writeFileSync(trailing, '{\n  "name": "x",\n  "pages": {"A": {},}\n}\n');
    const t = await racefarm('fuzz', '--scenario', trailing);
    assert.equal(t.code, 2);
    assert.ok(t.stderr.includes(quoted[1]), t.stderr);

    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, JSON.stringify({ colour: 1, world: { frames: 3, iommu: 'x' }, pages: { A: { cells: 'x' } }, threads: [{ on: 'cpu', ops: [[true]] }] }));
    const b = await racefarm('fuzz', '--scenario', bad);
    assert.equal(b.code, 2);
    const expected = [
      'name: missing (a string is required)',
      'world.frames: 3 is below the minimum 4',
      'world.iommu: "x" is not one of amd-v2, intel-svm, arm-smmu-v3, none',
      'pages.A.cells: must be an array, got string "x"',
      'threads[0].name: missing (a string is required)',
      'threads[0].ops[0][0]: must be a string or a number, got boolean true',
      '(top level): unknown key "colour" (allowed: name, description, variant, world, pages, devices, threads)',
    ];
    for (const line of expected) assert.ok(b.stderr.includes(`  ${line}\n`), `${line}\n---\n${b.stderr}`);
    assert.ok(README.includes('`world.frames: 3 is below the minimum 4`'));
    assert.doesNotMatch(b.stderr, /Invalid input|expected string, received|Too small|Too big|Unrecognized key|Invalid option/);
  });
});
