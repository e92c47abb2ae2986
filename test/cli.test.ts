import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runProcess, type Ran } from './helpers/run.ts';
import { CATALOG } from '../sim/scenario/catalog.ts';
import { PRESETS } from '../sim/variants/presets.ts';
import { SITE_NAMES, SITES } from '../sim/variants/sites.ts';
import { compileScenario } from '../sim/scenario/compile.ts';
import { estimateSteps } from '../sim/schedule/strategy.ts';
import { runLocalCampaign, splitChunks } from '../cli/campaign.ts';

/**
 * The racefarm CLI end to end (README.md "Command line" is a contract): real processes, real exit statuses,
 * real files. The fuzz runs use cow-two-pages under range-end-only, whose stale-read random finds
 * at seed 2041 (test/scenarios.test.ts), so 6000 seeds (3 chunks) find it with room to spare.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'cli', 'main.ts');
const BIN = join(ROOT, 'bin', 'racefarm.mjs');

function runNode(args: readonly string[], cwd: string = ROOT): Promise<Ran> {
  return runProcess(process.execPath, args, cwd);
}

/** `npm run -s racefarm -- ARGS`, without npm in between. */
const racefarm = (...args: string[]): Promise<Ran> => runNode(['--import', 'tsx', CLI, ...args]);

interface FuzzJson {
  schedules: number;
  steps: number;
  coverage: number | null;
  findings: { oracle: string; class: string; signature: string; seed: number; file: string }[];
  elapsedMs: number;
}

function parseJson<T>(r: Ran): T {
  assert.equal(r.code, 0, `exit ${r.code}; stderr: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `--json prints exactly one line, got:\n${r.stdout}`);
  return JSON.parse(lines[0]) as T;
}

describe('racefarm CLI', function () {
  this.timeout(60_000);
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(join(os.tmpdir(), 'racefarm-cli-'));
  });
  after(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  describe('lists', () => {
    it('scenarios: one line per built-in scenario, with its description', async () => {
      const r = await racefarm('scenarios');
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trimEnd().split('\n');
      assert.equal(lines.length, CATALOG.length);
      for (const e of CATALOG) {
        const line = lines.find((l) => l.split(/\s+/)[0] === e.scenario.name);
        assert.ok(line, `${e.scenario.name} is listed`);
        assert.ok(line.includes(e.scenario.description ?? ''), `${e.scenario.name} has its description`);
      }
    });

    it('variants: one line per preset; --sites: every site with its choices', async () => {
      const [v, s] = await Promise.all([racefarm('variants'), racefarm('variants', '--sites')]);
      assert.equal(v.code, 0, v.stderr);
      const lines = v.stdout.trimEnd().split('\n');
      assert.equal(lines.length, PRESETS.size);
      for (const p of PRESETS.values()) {
        assert.ok(lines.some((l) => l.split(/\s+/)[0] === p.name && l.includes(p.description)), `${p.name} is listed`);
      }
      assert.equal(s.code, 0, s.stderr);
      for (const site of SITE_NAMES) {
        assert.ok(s.stdout.includes(site), `site ${site} is listed`);
        assert.ok(s.stdout.includes(SITES[site].choices.join(' | ')), `site ${site} shows its choices`);
      }
    });
  });

  describe('fuzz and repro', () => {
    let two: FuzzJson;
    let one: FuzzJson;
    const repro: Record<'text' | 'json' | 'tampered' | 'otherOracle', Ran | undefined> = {
      text: undefined,
      json: undefined,
      tampered: undefined,
      otherOracle: undefined,
    };
    const fuzzArgs = ['fuzz', '--scenario', 'cow-two-pages', '--variant', 'range-end-only', '--seeds', '6000', '--json'];

    before(async function () {
      this.timeout(60_000);
      const [r2, r1] = await Promise.all([
        racefarm(...fuzzArgs, '--workers', '2', '--out', join(tmp, 'w2')),
        racefarm(...fuzzArgs, '--workers', '1', '--out', join(tmp, 'w1')),
      ]);
      two = parseJson<FuzzJson>(r2);
      one = parseJson<FuzzJson>(r1);
      // The replays are independent processes: run them side by side, check them one per test.
      const f = two.findings.find((x) => x.oracle === 'stale-read');
      if (!f) return;
      const finding = JSON.parse(readFileSync(f.file, 'utf8')) as Record<string, unknown>;
      const tampered = join(tmp, 'tampered.json');
      writeFileSync(tampered, JSON.stringify({ ...finding, simVersion: 'racefarm-sim/0.0.0-old' }));
      const otherOracle = join(tmp, 'other-oracle.json');
      writeFileSync(otherOracle, JSON.stringify({ ...finding, oracle: 'use-after-free' }));
      [repro.text, repro.json, repro.tampered, repro.otherOracle] = await Promise.all([
        racefarm('repro', f.file),
        racefarm('repro', f.file, '--json'),
        racefarm('repro', tampered),
        racefarm('repro', otherOracle),
      ]);
    });

    it('--json prints {schedules, steps, coverage, findings, elapsedMs} and writes DIR/<scenario>.<signature>.json', () => {
      assert.deepEqual(Object.keys(two).sort(), ['coverage', 'elapsedMs', 'findings', 'schedules', 'steps']);
      assert.equal(two.schedules, 6000);
      assert.ok(two.steps > two.schedules);
      assert.equal(two.coverage, null, 'coverage is not collected without --coverage');
      assert.ok(Number.isInteger(two.elapsedMs) && two.elapsedMs >= 0);
      const stale = two.findings.find((f) => f.oracle === 'stale-read');
      assert.ok(stale, `a stale-read finding: ${JSON.stringify(two.findings)}`);
      for (const f of two.findings) {
        assert.deepEqual(Object.keys(f).sort(), ['class', 'file', 'oracle', 'seed', 'signature']);
        assert.equal(f.class, f.oracle === 'split-mapping' ? 'invariant' : f.oracle === 'step-budget' ? 'limit' : 'observable');
        assert.equal(f.file, join(tmp, 'w2', `cow-two-pages.${f.signature}.json`));
        const saved = JSON.parse(readFileSync(f.file, 'utf8')) as Record<string, unknown>;
        assert.equal(saved.format, 'racefarm-finding/1');
        assert.equal(saved.signature, f.signature);
        assert.equal(saved.seed, f.seed);
        assert.equal(saved.oracle, f.oracle);
        assert.equal(saved.class, f.class);
        assert.equal((saved.variant as { name: string }).name, 'range-end-only');
      }
    });

    it('--workers 1 and --workers 2 give identical results (same findings, seeds, counts)', () => {
      assert.equal(one.schedules, two.schedules);
      assert.equal(one.steps, two.steps);
      const key = (r: FuzzJson) => r.findings.map((f) => `${f.oracle} ${f.signature} ${f.seed}`);
      assert.deepEqual(key(one), key(two));
      for (const f of two.findings) {
        const a = readFileSync(f.file, 'utf8');
        const b = readFileSync(join(tmp, 'w1', `cow-two-pages.${f.signature}.json`), 'utf8');
        assert.equal(a, b, `finding file ${f.signature} is byte-identical`);
      }
    });

    it('repro replays the finding: exit 0, trace table and verdict', () => {
      const r = repro.text;
      assert.ok(r, 'no stale-read finding to replay');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /stale-read/);
      assert.match(r.stdout, /REPRODUCED: stale-read/);
      // The finding was shrunk before it was written: fewer threads than the scenario, one column each.
      assert.match(r.stdout, /\| (cpu|dev)\d +\|/, 'a column per thread');
      assert.match(r.stdout, /^\|>>\d+/m, 'the violating step is marked');
    });

    it('repro --json: {reproduced, oracle, message, steps, signatureMatches, trace}', () => {
      assert.ok(repro.json, 'no stale-read finding to replay');
      const out = parseJson<Record<string, unknown>>(repro.json);
      assert.equal(out.reproduced, true);
      assert.equal(out.oracle, 'stale-read');
      assert.equal(typeof out.message, 'string');
      assert.equal(out.signatureMatches, true);
      const trace = out.trace as { step: number; thread: number; label: string }[];
      assert.ok(Array.isArray(trace) && trace.length === out.steps, 'one trace row per step');
      assert.deepEqual(Object.keys(trace[0]).sort(), ['effects', 'label', 'page', 'step', 'thread']);
    });

    it('repro of a finding from another simulator version: exit 1, "version mismatch"', () => {
      const r = repro.tampered;
      assert.ok(r, 'no stale-read finding to replay');
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout + r.stderr, /version mismatch/);
    });

    it('repro of a finding whose oracle no longer fires: exit 1, names the oracle', () => {
      const r = repro.otherOracle;
      assert.ok(r, 'no stale-read finding to replay');
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout + r.stderr, /use-after-free did not fire/);
    });
  });

  it('fuzz without --json prints a summary and the findings table; pct fills kSteps', async () => {
    const out = join(tmp, 'pct');
    const r = await racefarm(
      'fuzz', '--scenario', 'cow-two-pages', '--variant', 'range-end-only',
      '--strategy', 'pct', '--depth', '3', '--seeds', '1000', '--workers', '1', '--out', out,
    );
    assert.equal(r.code, 0, r.stderr);
    for (const word of ['schedules', 'steps', 'elapsed', 'steps/s', 'oracle', 'signature', 'seed', 'file']) {
      assert.ok(r.stdout.includes(word), `summary shows ${word}:\n${r.stdout}`);
    }
    assert.match(r.stdout, /observable +stale-read +[0-9a-f]{16} +\d+ +\d+ → \d+ +\d+ → \d+ +\S+\.json/);
    const file = /\S+\.json/.exec(r.stdout.split('\n').find((l) => /^observable +stale-read/.test(l))!)![0];
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { strategy: { name: string; depth: number; kSteps: number } };
    const sc = compileScenario(CATALOG[0].scenario);
    assert.deepEqual(saved.strategy, { name: 'pct', depth: 3, kSteps: estimateSteps(sc, PRESETS.get('range-end-only')!.sites) });
  });

  it('fuzz lists observable findings first; --oracles observable drops an invariant-only finding', async () => {
    const [text, all, obs] = await Promise.all([
      racefarm('fuzz', '--scenario', 'writeback-device-write', '--variant', 'no-mkclean-invalidate', '--seeds', '2000', '--workers', '1', '--out', join(tmp, 'cls')),
      racefarm('fuzz', '--scenario', 'mprotect-device-write', '--variant', 'no-mprotect-invalidate', '--seeds', '500', '--workers', '1', '--json', '--out', join(tmp, 'cls-all')),
      racefarm('fuzz', '--scenario', 'mprotect-device-write', '--variant', 'no-mprotect-invalidate', '--seeds', '500', '--workers', '1', '--json', '--out', join(tmp, 'cls-obs'), '--oracles', 'observable'),
    ]);
    assert.equal(text.code, 0, text.stderr);
    const rows = text.stdout.split('\n').filter((l) => /^(observable|invariant|limit) +\S+ +[0-9a-f]{16} /.test(l)).map((l) => l.split(/ +/)[0]);
    assert.ok(rows.includes('observable') && rows.includes('invariant'), `both classes found:\n${text.stdout}`);
    const rank = ['observable', 'invariant', 'limit'];
    assert.deepEqual(rows, [...rows].sort((a, b) => rank.indexOf(a) - rank.indexOf(b)), `observable rows first:\n${text.stdout}`);
    assert.match(text.stdout, /replay one with: .* repro \S+\.json/);
    const a = parseJson<FuzzJson>(all);
    assert.deepEqual(a.findings.map((f) => [f.oracle, f.class]), [['split-mapping', 'invariant']]);
    const o = parseJson<FuzzJson>(obs);
    assert.equal(o.schedules, a.schedules);
    assert.deepEqual(o.findings, []);
  });

  it('a campaign is the same whatever its chunking and order of merge', async () => {
    const sc = compileScenario(CATALOG.find((e) => e.scenario.name === 'cow-two-pages')!.scenario);
    const variant = PRESETS.get('range-end-only')!;
    const strategy = { name: 'random' as const, depth: 3, kSteps: estimateSteps(sc, variant.sites) };
    const base = { scenario: sc.source, variant, strategy, seedStart: 1000, seeds: 2500, workers: 1 };
    const whole = await runLocalCampaign({ ...base, coverage: false, chunkSeeds: 2500 });
    const split = await runLocalCampaign({ ...base, coverage: false, chunkSeeds: 300 });
    assert.deepEqual(split, whole);
    assert.ok(whole.findings.some((f) => f.seed === 2041 && f.oracle === 'stale-read'));
    assert.deepEqual(splitChunks(5, 7, 3), [
      { index: 0, seedStart: 5, count: 3 },
      { index: 1, seedStart: 8, count: 3 },
      { index: 2, seedStart: 11, count: 1 },
    ]);
  });

  describe('bad input exits 2 and names the field on stderr', () => {
    let files: Record<string, string>;
    before(() => {
      files = {
        scenario: join(tmp, 'bad-scenario.json'),
        site: join(tmp, 'bad-site.json'),
        choice: join(tmp, 'bad-choice.json'),
        notJson: join(tmp, 'not-json.json'),
        notFinding: join(tmp, 'not-finding.json'),
      };
      const sc = structuredClone(CATALOG.find((e) => e.scenario.name === 'cow-two-pages')!.scenario) as {
        threads: { ops: (string | number)[][] }[];
      };
      sc.threads[0].ops[0][1] = 'Z';
      writeFileSync(files.scenario, JSON.stringify(sc));
      writeFileSync(files.site, JSON.stringify({ base: 'v4.15', sites: { 'cow.noSuchSite': 'x' } }));
      writeFileSync(files.choice, JSON.stringify({ base: 'v4.15', sites: { 'cow.clearPte': 'sometimes' } }));
      writeFileSync(files.notJson, '{ "base": ');
      writeFileSync(files.notFinding, JSON.stringify({ hello: 'world' }));
    });

    const fuzz = (...args: string[]) => racefarm('fuzz', '--seeds', '10', '--workers', '1', '--out', join(tmp, 'bad'), ...args);
    const cases: [string, () => Promise<Ran>, RegExp[]][] = [
      ['an unknown scenario name', () => fuzz('--scenario', 'no-such-scenario'), [/no-such-scenario/, /cow-two-pages/]],
      ['a scenario file with an unknown page in an op', () => fuzz('--scenario', files.scenario), [/threads\[0\]\.ops\[0\]\[1\]/, /unknown page "Z"/]],
      ['a variant file with an unknown site', () => fuzz('--scenario', 'cow-two-pages', '--variant', files.site), [/sites\.cow\.noSuchSite: unknown site/, /cow\.clearPte/]],
      ['a variant file with a bad choice', () => fuzz('--scenario', 'cow-two-pages', '--variant', files.choice), [/sites\.cow\.clearPte/, /clear-flush-notify, clear-flush/]],
      ['a variant file that is not JSON', () => fuzz('--scenario', 'cow-two-pages', '--variant', files.notJson), [/not valid JSON/]],
      ['an unknown variant name', () => fuzz('--scenario', 'cow-two-pages', '--variant', 'v9.99'), [/--variant/, /v4\.15/]],
      ['--seeds abc', () => fuzz('--scenario', 'cow-two-pages', '--seeds', 'abc'), [/--seeds/]],
      ['--seeds -1', () => fuzz('--scenario', 'cow-two-pages', '--seeds', '-1'), [/--seeds/]],
      ['--workers 0', () => fuzz('--scenario', 'cow-two-pages', '--workers', '0'), [/--workers/]],
      ['an unknown strategy', () => fuzz('--scenario', 'cow-two-pages', '--strategy', 'magic'), [/--strategy/, /random, pct/]],
      ['a negative preemption bound', () => fuzz('--scenario', 'cow-two-pages', '--strategy', 'exhaustive', '--preemptions', '-1'), [/--preemptions/]],
      ['an unknown option', () => fuzz('--scenario', 'cow-two-pages', '--turbo'), [/--turbo/]],
      ['--oracles with a name that is not an oracle', () => fuzz('--scenario', 'cow-two-pages', '--oracles', 'stale-read,stale-reed'), [/--oracles/, /"stale-reed" is not an oracle/, /split-mapping/]],
      ['an unknown command', () => racefarm('frobnicate'), [/frobnicate/]],
      ['repro of a missing file', () => racefarm('repro', join(tmp, 'missing.json')), [/missing\.json/]],
      ['repro of a file that is not a finding', () => racefarm('repro', files.notFinding), [/format/, /decisions/]],
      ['repro --html of a file that is not a finding', () => racefarm('repro', files.notFinding, '--html', join(tmp, 'x.html')), [/format/, /decisions/]],
      ['a farm worker with --concurrency 0', () => racefarm('worker', '--concurrency', '0'), [/--concurrency/]],
      ['campaign start with a bad --seeds', () => racefarm('campaign', 'start', '--scenario', 'cow-two-pages', '--seeds', 'abc'), [/--seeds/]],
    ];
    // The cases are independent processes: run them a few at a time, then check each.
    const results = new Map<string, Ran>();
    before(async function () {
      this.timeout(60_000);
      const queue = [...cases];
      const lane = async (): Promise<void> => {
        for (let c = queue.shift(); c; c = queue.shift()) results.set(c[0], await c[1]());
      };
      await Promise.all([lane(), lane(), lane(), lane()]);
    });
    for (const [what, , patterns] of cases) {
      it(what, () => {
        const r = results.get(what)!;
        assert.equal(r.code, 2, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
        for (const p of patterns) assert.match(r.stderr, p);
        assert.equal(r.stdout, '', 'nothing on stdout');
      });
    }
  });

  it('bin/racefarm.mjs runs the CLI from any directory', async () => {
    const r = await runNode([BIN, 'scenarios'], os.tmpdir());
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^cow-two-pages /m);
  });

  describe('exhaustive, coverage and the HTML trace', () => {
    it('fuzz --strategy exhaustive: a certificate for a correct preset', async () => {
      const r = await racefarm('fuzz', '--scenario', 'soft-dirty-device-write', '--variant', 'v4.13', '--strategy', 'exhaustive', '--preemptions', '2', '--json', '--out', join(tmp, 'ex-ok'));
      assert.equal(r.code, 0, r.stderr);
      const out = parseJson<{ complete: boolean; schedules: number; bound: number; findings: unknown[] }>(r);
      assert.equal(out.complete, true);
      assert.equal(out.bound, 2);
      assert.ok(out.schedules > 0);
      assert.deepEqual(out.findings, []);
    });

    it('fuzz --strategy exhaustive: the race for a buggy preset, written as a finding repro replays', async () => {
      const dir = join(tmp, 'ex-bug');
      const r = await racefarm('fuzz', '--scenario', 'zap-gather-free', '--variant', 'no-gather-invalidate', '--strategy', 'exhaustive', '--json', '--out', dir);
      assert.equal(r.code, 0, r.stderr);
      const out = parseJson<{ complete: boolean; findings: { oracle: string; file: string }[] }>(r);
      assert.equal(out.complete, false);
      const uaf = out.findings.find((f) => f.oracle === 'use-after-free');
      assert.ok(uaf, r.stdout);
      const again = await racefarm('repro', uaf.file);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /REPRODUCED: use-after-free/);
    });

    it('fuzz --json reports the coverage features reached; --strategy coverage runs', async () => {
      const r = await racefarm('fuzz', '--scenario', 'kvm-stale-spte', '--variant', 'kvm-no-retry', '--strategy', 'coverage', '--seeds', '600', '--workers', '1', '--json', '--out', join(tmp, 'cov'));
      assert.equal(r.code, 0, r.stderr);
      const out = parseJson<FuzzJson>(r);
      assert.equal(out.schedules, 600);
      assert.ok(out.coverage !== null && out.coverage > 0, `coverage ${out.coverage}`);
      assert.ok(out.findings.length > 0);
    });

    it('fuzz --coverage collects coverage for random; without it the summary says "not collected"', async () => {
      const args = ['fuzz', '--scenario', 'kvm-stale-spte', '--variant', 'kvm-no-retry', '--seeds', '600', '--workers', '1'];
      const [on, off] = await Promise.all([
        racefarm(...args, '--coverage', '--json', '--out', join(tmp, 'cov-on')),
        racefarm(...args, '--out', join(tmp, 'cov-off')),
      ]);
      assert.equal(on.code, 0, on.stderr);
      const got = parseJson<FuzzJson>(on);
      assert.ok(got.coverage !== null && got.coverage > 0, `coverage ${got.coverage}`);
      assert.equal(off.code, 0, off.stderr);
      assert.match(off.stdout, /^coverage\s+not collected/m);
    });

    it('repro --html writes a standalone page with the violating step highlighted', async () => {
      const dir = join(tmp, 'html');
      const f = await racefarm('fuzz', '--scenario', 'mprotect-device-write', '--variant', 'no-mprotect-invalidate', '--seeds', '50', '--workers', '1', '--json', '--out', dir);
      const file = parseJson<FuzzJson>(f).findings[0].file;
      const page = join(dir, 'trace.html');
      const r = await racefarm('repro', file, '--html', page);
      assert.equal(r.code, 0, r.stderr);
      const html = readFileSync(page, 'utf8');
      assert.match(html, /^<!doctype html>/i);
      assert.match(html, /id="violation"/);
      assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href="http/i, 'no external assets');
    });
  });
});
