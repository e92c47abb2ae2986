import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FarmProc, ROOT } from './helpers/farm.ts';
import { TestRedis } from './helpers/redis.ts';
import { runProcess, type Ran } from './helpers/run.ts';

// README's "Installing the package", run for real: `npm pack` the checkout, `npm install -g` the
// tarball into a temporary prefix, then use the installed `racefarm` — which has no tsx and no
// TypeScript sources, so it can only run the compiled JavaScript of dist/ (its main thread and its
// worker threads alike). The install resolves the dependencies' versions from the registry
// (`--prefer-offline`: the tarballs come from the npm cache `npm ci` filled); with no registry
// reachable the install tests skip, saying so.

interface Pkg {
  version: string;
  files: string[];
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Pkg;

/** The environment of a child npm/racefarm: none of the `npm_*` settings of an enclosing `npm test`. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'NODE_OPTIONS' && k !== 'INIT_CWD') env[k] = v;
  return { ...env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false', ...extra };
}

function npm(args: string[], cwd: string): Ran {
  const r = spawnSync('npm', args, { cwd, env: cleanEnv(), encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** dist/ holds the compiled form of the current sources (farm/compiled.ts, asked in a fresh process). */
function distIsCurrent(): boolean {
  const stamp = join(ROOT, 'dist', 'farm', 'compiled.js');
  if (!existsSync(stamp)) return false;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import(${JSON.stringify(stamp)}).then((m) => process.exit(m.compiledIsCurrent() ? 0 : 1))`], { encoding: 'utf8' });
  return r.status === 0;
}

/** Every file under `dir`, by path from it ('/'-separated). */
function walk(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix + e.name;
    if (e.isDirectory()) out.push(...walk(join(dir, e.name), `${rel}/`));
    else out.push(rel);
  }
  return out;
}

/**
 * The module specifiers a compiled file imports statically or through `import('…')` with a literal.
 * Template literals are left out: they hold the code a module evaluates in a worker thread when it
 * runs from its TypeScript source (`import('tsx/esm/api')…` in worker/main.ts and
 * coordinator/simThread.ts, behind `import.meta.url.endsWith('.ts')` or farm/compiled.ts), never
 * when it runs from dist/.
 */
function importsOf(js: string): string[] {
  const out: string[] = [];
  const code = js.replace(/`(?:[^`\\]|\\.)*`/gs, '``');
  for (const m of code.matchAll(/^\s*(?:import|export)\s[^'";]*?\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

/** `node:fs`, `fs`, `fs/promises`: a Node built-in. */
function isBuiltin(spec: string): boolean {
  return spec.startsWith('node:') || builtinModules.includes(spec) || builtinModules.includes(spec.split('/')[0]);
}

/** `@grpc/grpc-js/build/x` → `@grpc/grpc-js`; `zod/v4` → `zod`. */
function packageOf(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

describe('packaging: npm pack, install from the tarball, the installed racefarm', function () {
  this.timeout(120_000);
  let tmp = '';
  let tarball = '';
  let packed: string[] = [];
  let prefix = '';
  let installed = '';
  let racefarmBin = '';
  let installProblem: string | undefined;
  let staleReadSeed: number | undefined;

  before(function () {
    this.timeout(180_000);
    tmp = mkdtempSync(join(tmpdir(), 'racefarm-pack-'));
    // `npm pack` runs `prepare` (the full build, ~25 s); the tarball is the same when dist/ is
    // already current, so build only when it is not and pack with --ignore-scripts.
    if (!distIsCurrent()) {
      const b = npm(['run', '-s', 'build'], ROOT);
      assert.equal(b.code, 0, `npm run build:\n${b.stdout}${b.stderr}`);
      assert.ok(distIsCurrent(), 'dist/ is current after npm run build');
    }
    const p = npm(['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], ROOT);
    assert.equal(p.code, 0, `npm pack:\n${p.stderr}`);
    const info = (JSON.parse(p.stdout) as { filename: string; files: { path: string }[] }[])[0];
    tarball = join(tmp, info.filename);
    packed = info.files.map((f) => f.path).sort();

    prefix = join(tmp, 'prefix');
    const t0 = Date.now();
    const i = npm(['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball], tmp);
    if (i.code !== 0) {
      if (/ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ENOTCACHED|ETIMEDOUT|ENETUNREACH/.test(i.stderr)) installProblem = `the npm registry is not reachable: ${i.stderr.split('\n')[0]}`;
      else assert.fail(`npm install -g --prefix … ${info.filename}:\n${i.stdout}${i.stderr}`);
    }
    process.stderr.write(`      (npm install of the tarball: ${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
    installed = join(prefix, 'lib', 'node_modules', 'racefarm');
    racefarmBin = join(prefix, 'bin', 'racefarm');
  });

  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  function requireInstall(ctx: Mocha.Context): void {
    if (!installProblem) return;
    process.stderr.write(`      skipped: ${installProblem}\n`);
    ctx.skip();
  }

  /** The installed command, from a scratch directory, with a PATH that finds it and no tsx anywhere. */
  function racefarm(args: string[], cwd: string): Promise<Ran> {
    return runProcess(racefarmBin, args, cwd, cleanEnv({ PATH: `${join(prefix, 'bin')}:${process.env.PATH ?? ''}`, NODE_PATH: '' }));
  }

  /** README's "Installing the package" command, as documented. */
  const FUZZ = ['fuzz', '--scenario', 'cow-two-pages', '--variant', 'range-end-only', '--seeds', '3000', '--json'];

  it("README's install instructions are the ones run here", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const line of ['npm pack ', `npm install -g ./racefarm-${pkg.version}.tgz`, 'racefarm --version', `racefarm ${FUZZ.join(' ')}`]) {
      assert.ok(readme.includes(line), `README shows \`${line}\``);
    }
  });

  /** The stale read's seed as the installed local `fuzz` finds it (run here if that test did not). */
  async function localStaleReadSeed(): Promise<number> {
    if (staleReadSeed === undefined) {
      const cwd = mkdtempSync(join(tmp, 'fuzz-'));
      const r = await racefarm(FUZZ, cwd);
      staleReadSeed = (JSON.parse(r.stdout) as { findings: { oracle: string; seed: number }[] }).findings.find((f) => f.oracle === 'stale-read')!.seed;
    }
    return staleReadSeed;
  }

  it('the tarball holds the product: compiled dist/, bin/, proto/, the JSON Schemas, docs/, the dashboard', () => {
    for (const f of [
      'package.json',
      'README.md',
      'bin/racefarm.mjs',
      'dist/.sources.json',
      'dist/cli/main.js',
      'dist/cli/fuzzWorker.js',
      'dist/cli/compareWorker.js',
      'dist/cli/exploreWorker.js',
      'dist/worker/thread.js',
      'dist/coordinator/simTasks.js',
      'dist/farm/main.js',
      'proto/racefarm.proto',
      'schemas/scenario.schema.json',
      'schemas/variant.schema.json',
      'schemas/finding.schema.json',
      'docs/README.md',
      'deploy/grafana/dashboards/racefarm.json',
      'deploy/prometheus/prometheus.yml',
    ]) {
      assert.ok(packed.includes(f), `${f} is in the tarball`);
    }
    assert.equal(pkg.bin.racefarm, './bin/racefarm.mjs');
  });

  it('the tarball holds no tests, benchmarks, CI, build state or TypeScript sources', () => {
    const bad = packed.filter(
      (f) =>
        /^(dist\/)?(test|bench|\.ci)\//.test(f) ||
        /\.ts$/.test(f) ||
        /(^|\/)(tsconfig\.json|\.mocharc\.cjs|Dockerfile|\.dockerignore|\.tsbuildinfo|package-lock\.json)$/.test(f) ||
        // The plain-JS worker entries register tsx for a checkout whose dist/ is stale: not shipped.
        /^cli\//.test(f) ||
        f === 'bench/results.json',
    );
    assert.deepEqual(bad, []);
    // Only what `files` names (npm adds package.json and README.md): nothing else at the top.
    const allowed = new Set(['README.md', 'package.json', 'bin', 'deploy', 'dist', 'docs', 'farm', 'proto', 'schemas']);
    assert.deepEqual([...new Set(packed.map((f) => f.split('/')[0]))].filter((t) => !allowed.has(t)), []);
    // farm/ contributes its README only; deploy/ the Prometheus config and the Grafana files only.
    assert.deepEqual(packed.filter((f) => f.startsWith('farm/') && f !== 'farm/README.md'), []);
    assert.deepEqual(packed.filter((f) => f.startsWith('deploy/') && !/^deploy\/(grafana|prometheus)\//.test(f)), []);
  });

  it('tsx is a devDependency; the compiled code imports only shipped files, built-ins and runtime dependencies', () => {
    assert.equal(pkg.dependencies.tsx, undefined, 'tsx is not a runtime dependency');
    assert.ok(pkg.devDependencies.tsx, 'tsx stays a devDependency (mocha and a checkout with stale dist/ use it)');
    const shipped = new Set(packed);
    const problems: string[] = [];
    for (const f of packed.filter((p) => p.startsWith('dist/') && p.endsWith('.js'))) {
      const js = readFileSync(join(ROOT, f), 'utf8');
      for (const spec of importsOf(js)) {
        if (spec.startsWith('.')) {
          const target = join(f, '..', spec).split('\\').join('/');
          if (!shipped.has(target)) problems.push(`${f} imports ${spec} (${target}), which is not in the tarball`);
        } else if (!isBuiltin(spec) && !pkg.dependencies[packageOf(spec)]) {
          problems.push(`${f} imports ${spec}, which is not a runtime dependency`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  it('installs into a temporary prefix: the racefarm command, no tsx, no TypeScript', function () {
    requireInstall(this);
    assert.ok(existsSync(racefarmBin), `${racefarmBin} exists`);
    assert.ok(existsSync(join(installed, 'dist', 'cli', 'main.js')));
    assert.ok(!existsSync(join(installed, 'node_modules', 'tsx')), 'tsx is not installed with the package');
    assert.ok(!existsSync(join(prefix, 'lib', 'node_modules', 'tsx')));
    const ts = walk(installed).filter((f) => !f.startsWith('node_modules/') && f.endsWith('.ts'));
    assert.deepEqual(ts, [], 'no TypeScript source in the installed package');
  });

  it('racefarm --version prints the package version', async function () {
    requireInstall(this);
    const r = await racefarm(['--version'], tmp);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), pkg.version);
  });

  it('racefarm fuzz finds the stale read of cow-two-pages × range-end-only in worker threads, as the checkout does; racefarm repro replays it', async function () {
    requireInstall(this);
    const cwd = join(tmp, 'fuzz');
    mkdirSync(cwd);
    const args = FUZZ;
    const r = await racefarm(args, cwd);
    assert.equal(r.code, 0, r.stderr);
    const got = JSON.parse(r.stdout) as { schedules: number; findings: { oracle: string; signature: string; seed: number; file: string }[] };
    assert.equal(got.schedules, 3000);
    assert.ok(got.findings.some((f) => f.oracle === 'stale-read'), r.stdout);
    // The same campaign from the checkout (its current dist/): same findings (oracle, signature, seed).
    const co = await runProcess(process.execPath, [join(ROOT, 'bin', 'racefarm.mjs'), ...args, '--out', join(tmp, 'checkout-findings')], ROOT, cleanEnv());
    assert.equal(co.code, 0, co.stderr);
    const strip = (x: typeof got) => x.findings.map(({ oracle, signature, seed }) => ({ oracle, signature, seed }));
    assert.deepEqual(strip(got), strip(JSON.parse(co.stdout) as typeof got));

    staleReadSeed = got.findings.find((f) => f.oracle === 'stale-read')!.seed;
    const file = join(cwd, got.findings[0].file);
    assert.ok(existsSync(file), `${file} written`);
    const repro = await racefarm(['repro', file], cwd);
    assert.equal(repro.code, 0, `${repro.stdout}${repro.stderr}`);
    assert.match(repro.stdout, /stale-read/);
  });

  it('the installed farm: coordinator, a 2-thread worker and the campaign client find the same race over a private Redis', async function () {
    requireInstall(this);
    const redis = await TestRedis.start();
    const env = cleanEnv({ PATH: `${join(prefix, 'bin')}:${process.env.PATH ?? ''}`, NODE_PATH: '', RACEFARM_METRICS: 'off' });
    const start = (args: string[]) => new FarmProc(spawn(racefarmBin, args, { cwd: tmp, env, stdio: ['ignore', 'pipe', 'pipe'] }));
    const procs: FarmProc[] = [];
    try {
      const coordinator = start(['coordinator', '--redis', redis.url, '--grpc', '127.0.0.1:0']);
      procs.push(coordinator);
      const address = (await coordinator.waitFor(/coordinator listening on (\S+)/))[1];
      const worker = start(['worker', '--redis', redis.url, '--concurrency', '2']);
      procs.push(worker);
      await worker.waitFor(/worker ready/);
      // `campaign start` asks the coordinator's simulation thread (compiled: dist/coordinator/simTasks.js)
      // for the scenario's step estimate; the worker runs its jobs in two compiled threads.
      const c = await racefarm(['campaign', 'start', '--coordinator', address, '--scenario', 'cow-two-pages', '--variant', 'range-end-only', '--seeds', '3000', '--batch', '1000', '--watch', '--json'], tmp);
      assert.equal(c.code, 0, `${c.stdout}${c.stderr}\ncoordinator:\n${coordinator.err}\nworker:\n${worker.err}`);
      const f = await racefarm(['campaign', 'findings', '--coordinator', address, '--json'], tmp);
      assert.equal(f.code, 0, f.stderr);
      assert.match(f.stdout, /"oracle":\s*"stale-read"/);
      const seeds = [...f.stdout.matchAll(/"oracle":\s*"stale-read"[^}]*?"seed":\s*"?(\d+)"?|"seed":\s*"?(\d+)"?[^}]*?"oracle":\s*"stale-read"/g)].map((m) => Number(m[1] ?? m[2]));
      assert.ok(seeds.includes(await localStaleReadSeed()), `the race at the seed local fuzz finds it (${await localStaleReadSeed()}): ${f.stdout}`);
    } finally {
      await Promise.all(procs.map((p) => p.stop()));
      await redis.destroy();
    }
  });
});
