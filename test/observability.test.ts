import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FarmClient } from '../cli/farmClient.ts';
import type { CampaignView } from '../farm/store.ts';
import { CoordinatorMetrics, WorkerMetrics, exportedMetricNames, serveMetrics, startMetricsServer } from '../farm/metrics.ts';
import { TestRedis } from './helpers/redis.ts';
import { ROOT, startCoordinatorProc, startWorkerProc, until, type FarmProc } from './helpers/farm.ts';

// ---------------------------------------------------------------------------------------------
// Exposition-format helpers
// ---------------------------------------------------------------------------------------------

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/.exec(line);
    assert.ok(m, `unparseable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

function sum(samples: readonly Sample[], name: string, where: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

async function scrape(url: string): Promise<{ samples: Sample[]; text: string; contentType: string }> {
  const r = await fetch(url);
  assert.equal(r.status, 200, url);
  const text = await r.text();
  return { samples: parseExposition(text), text, contentType: r.headers.get('content-type') ?? '' };
}

/** The exposition text of the `racefarm_` families only (promtool lints prom-client's defaults too). */
function ownFamilies(text: string): string {
  const keep: string[] = [];
  for (const line of text.split('\n')) {
    const name = line.startsWith('# ') ? line.split(' ')[2] : line.split(/[{ ]/)[0];
    if (name?.startsWith('racefarm_')) keep.push(line);
  }
  return `${keep.join('\n')}\n`;
}

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
}

/** Skips the test, saying why, when a tool is not installed (.ci/run installs both). */
function requireTool(ctx: Mocha.Context, cmd: string, debianPackage: string): void {
  if (have(cmd)) return;
  process.stderr.write(`      skipped: ${cmd} is not installed (apt-get install -y ${debianPackage}; .ci/run installs it)\n`);
  ctx.skip();
}

function promtoolCheckMetrics(text: string): void {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: ownFamilies(text), encoding: 'utf8' });
  assert.equal(r.status, 0, `promtool check metrics:\n${r.stdout}${r.stderr}`);
}

// ---------------------------------------------------------------------------------------------
// PromQL helpers (dashboard)
// ---------------------------------------------------------------------------------------------

const PROMQL_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

/** Grafana's variables replaced by PromQL that parses ($__rate_interval → 1m, its _ms form → 60000, $campaign → .*). */
function withGrafanaVars(expr: string): string {
  return expr
    .replace(/\$__(rate_interval|interval|range)_ms\b/g, '60000')
    .replace(/\$__(rate_interval|interval|range)\b/g, '1m')
    .replace(/\[\[\w+\]\]|\$\{\w+(?::\w+)?\}|\$\w+/g, '.*');
}

/** Metric names a PromQL expression selects (bare selectors and {__name__="…"}). */
function metricNamesIn(expr: string): string[] {
  const names: string[] = [];
  let e = withGrafanaVars(expr);
  for (const m of e.matchAll(/__name__\s*=\s*"([^"]+)"/g)) names.push(m[1]);
  e = e
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""') // strings
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges and subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' '); // label lists
  for (const m of e.matchAll(/(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:]|\s*\()/g)) {
    if (!PROMQL_KEYWORDS.has(m[1].toLowerCase())) names.push(m[1]);
  }
  return names;
}

interface DashboardPanel {
  title: string;
  targets?: { expr?: string }[];
  panels?: DashboardPanel[];
}

function dashboardExpressions(d: { panels: DashboardPanel[]; templating?: { list: { query?: unknown; definition?: string }[] } }): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  const walk = (ps: DashboardPanel[]) => {
    for (const p of ps) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ where: `panel "${p.title}"`, expr: t.expr });
      if (p.panels) walk(p.panels);
    }
  };
  walk(d.panels);
  for (const v of d.templating?.list ?? []) {
    const q = typeof v.query === 'string' ? v.query : (v.query as { query?: string } | undefined)?.query;
    for (const s of [q, v.definition]) {
      const m = s ? /^label_values\((.*),\s*\w+\)$/.exec(s.trim()) : null;
      if (m) out.push({ where: 'template variable', expr: m[1] });
      else if (s && /^query_result\((.*)\)$/.test(s.trim())) out.push({ where: 'template variable', expr: s.trim().slice(13, -1) });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

describe('observability: deploy files', function () {
  this.timeout(60_000);

  it('promtool check config accepts deploy/prometheus/prometheus.yml', function () {
    requireTool(this, 'promtool', 'prometheus');
    const r = spawnSync('promtool', ['check', 'config', join(ROOT, 'deploy/prometheus/prometheus.yml')], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    const cfg = readFileSync(join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8');
    assert.match(cfg, /targets:\s*\["coordinator:9464"\]/, 'scrapes the coordinator');
    assert.match(cfg, /dns_sd_configs:\s*\n\s*- names:\s*\["worker"\]\s*\n\s*type: A\s*\n\s*port: 9465/, 'finds workers through DNS (type A on the compose service name)');
  });

  it('docker-compose validates deploy/docker-compose.yml (no Docker engine: config only)', function () {
    requireTool(this, 'docker-compose', 'docker-compose');
    const file = join(ROOT, 'deploy/docker-compose.yml');
    const q = spawnSync('docker-compose', ['-f', file, 'config', '-q'], { encoding: 'utf8' });
    assert.equal(q.status, 0, `${q.stdout}${q.stderr}`);
    const services = spawnSync('docker-compose', ['-f', file, 'config', '--services'], { encoding: 'utf8' });
    assert.deepEqual(services.stdout.trim().split('\n').sort(), ['coordinator', 'grafana', 'prometheus', 'redis', 'worker']);
    const full = spawnSync('docker-compose', ['-f', file, 'config'], { encoding: 'utf8' }).stdout;
    // Normalized output: services at 2 spaces, their keys at 4.
    const block = (svc: string) => {
      const m = new RegExp(`\\n  ${svc}:\\n((?:    .*\\n|      .*\\n)*)`).exec(`\n${full}`);
      assert.ok(m, `service ${svc} in:\n${full}`);
      return m[1];
    };
    const worker = block('worker');
    assert.doesNotMatch(worker, /^ {4}(container_name|ports):/m, 'worker scales with --scale worker=N: no container_name, no published ports');
    assert.match(worker, /^ {4}healthcheck:/m);
    assert.match(worker, /REDIS_URL: redis:\/\/redis:6379/);
    assert.match(worker, /- --metrics\n\s+- 0\.0\.0\.0:9465/);
    const coordinator = block('coordinator');
    assert.match(coordinator, /^ {4}healthcheck:/m);
    assert.match(coordinator, /- --metrics\n\s+- 0\.0\.0\.0:9464/);
    const redis = block('redis');
    assert.match(redis, /--appendonly\n\s+- 'yes'|--appendonly\n\s+- "yes"|--appendonly\n\s+- yes/, 'redis persists (appendonly)');
    assert.match(redis, /redis-data:\/data|target: \/data/, 'redis data on a volume');
    assert.match(redis, /^ {4}healthcheck:/m);
    for (const svc of ['prometheus', 'grafana']) assert.match(block(svc), /^ {4}healthcheck:/m, svc);
  });

  it('the Dockerfile is multi-stage, runs as a non-root user, builds dist/ and runs it with production dependencies only', () => {
    // No Docker engine here (docker build cannot run): the check reads the stages.
    const d = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const stages = d.split(/^(?=FROM )/m).filter((s) => s.startsWith('FROM '));
    assert.ok(stages.length >= 2, 'multi-stage');
    const build = stages.find((s) => /^RUN npm run -s build\b/m.test(s));
    assert.ok(build, 'a stage runs `npm run build` (tsc → dist/)');
    const runtime = stages[stages.length - 1];
    assert.match(d, /npm ci --omit=dev/);
    assert.match(runtime, /^COPY --from=\S+ [^\n]*\/node_modules \.\/node_modules$/m, 'runtime node_modules come from the --omit=dev stage');
    assert.match(runtime, /^COPY --from=\S+ [^\n]*\/dist \.\/dist$/m, 'the runtime stage takes dist/ from the build stage');
    for (const src of ['sim', 'cli', 'farm', 'coordinator', 'worker', 'test', 'bench']) {
      assert.doesNotMatch(runtime, new RegExp(`^COPY (?!--from)[^\\n]* ${src}\\b`, 'm'), `the runtime stage holds no ${src}/ sources`);
    }
    // The build stage compiles every product folder tsc compiles (tsconfig.json's include, tests,
    // benchmarks and their process helpers in support/ aside), and .dockerignore keeps none of them out of the context.
    const include = (JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { include: string[] }).include.filter((d) => d !== 'test' && d !== 'bench' && d !== 'support');
    const copied = [...build.matchAll(/^COPY (\w+) \.\/(\w+)$/gm)].filter((m) => m[1] === m[2]).map((m) => m[1]);
    assert.deepEqual(copied.sort(), [...include].sort(), 'the build stage copies exactly the product folders of tsconfig.json');
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const dir of include) assert.ok(!ignored.includes(dir), `.dockerignore keeps ${dir}/ in the context`);
    const user = /^USER (\S+)/m.exec(runtime);
    assert.ok(user && user[1] !== 'root' && user[1] !== '0', 'USER is not root');
    assert.match(d, /ENTRYPOINT \["node", "bin\/racefarm\.mjs"\]/);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    assert.equal(pkg.dependencies.tsx, undefined, 'the compiled code needs no tsx: a devDependency');
    assert.ok(pkg.devDependencies.tsx);
    assert.ok(pkg.dependencies['prom-client']);
  });

  it('every PromQL expression of the Grafana dashboard names only metrics the code exports', () => {
    const exported = exportedMetricNames();
    // The check itself: a renamed metric is reported.
    assert.deepEqual(metricNamesIn('sum by (oracle) (rate(racefarm_renamed_total{campaign=~"$campaign"}[$__rate_interval]))'), ['racefarm_renamed_total']);
    assert.deepEqual(metricNamesIn('histogram_quantile(0.9, sum by (le) (rate(racefarm_shrink_duration_seconds_bucket[5m])))'), ['racefarm_shrink_duration_seconds_bucket']);
    assert.ok(!exported.has('racefarm_shrink_duration_seconds'), "a histogram's bare name is no series");

    const dash = JSON.parse(readFileSync(join(ROOT, 'deploy/grafana/dashboards/racefarm.json'), 'utf8'));
    const exprs = dashboardExpressions(dash);
    assert.ok(exprs.length >= 10, `${exprs.length} expressions`);
    const used = new Set<string>();
    for (const { where, expr } of exprs) {
      const names = metricNamesIn(expr);
      assert.ok(names.length > 0, `${where}: no metric in ${expr}`);
      for (const n of names) {
        assert.ok(exported.has(n), `${where}: ${n} is not exported by farm/metrics.ts (in ${expr})`);
        used.add(n);
      }
    }
    // The panels the issue asks for.
    for (const n of [
      'racefarm_findings_total',
      'racefarm_unique_signatures_total',
      'racefarm_schedules_total',
      'racefarm_worker_schedules_per_second',
      'racefarm_campaign_coverage_features',
      'racefarm_queue_jobs',
      'racefarm_shrink_duration_seconds_bucket',
    ]) {
      assert.ok(used.has(n), `the dashboard shows ${n}`);
    }
    const titles = (dash.panels as DashboardPanel[]).map((p) => p.title.toLowerCase());
    for (const t of ['findings over time by oracle and variant', 'unique races', 'schedules / s per worker', 'coverage growth per campaign', 'queue depth', 'shrink latency']) {
      assert.ok(titles.includes(t), `panel "${t}"`);
    }
    assert.ok(exprs.some((e) => /histogram_quantile\(/.test(e.expr) && /racefarm_shrink_duration_seconds_bucket/.test(e.expr)));
  });

  it('the dashboard expressions are valid PromQL (promtool check rules)', function () {
    requireTool(this, 'promtool', 'prometheus');
    const dash = JSON.parse(readFileSync(join(ROOT, 'deploy/grafana/dashboards/racefarm.json'), 'utf8'));
    const rules = dashboardExpressions(dash).map((e, i) => `      - record: dashboard:expr_${i}\n        expr: ${JSON.stringify(withGrafanaVars(e.expr))}\n`);
    const dir = mkdtempSync(join(tmpdir(), 'racefarm-promql-'));
    try {
      const file = join(dir, 'rules.yml');
      writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules.join('')}`);
      const r = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('Grafana provisioning: the Prometheus data source and the dashboard folder', () => {
    const ds = readFileSync(join(ROOT, 'deploy/grafana/provisioning/datasources/prometheus.yml'), 'utf8');
    assert.match(ds, /type: prometheus/);
    assert.match(ds, /url: http:\/\/prometheus:9090/);
    const uid = /uid: (\S+)/.exec(ds)?.[1];
    const dash = readFileSync(join(ROOT, 'deploy/grafana/dashboards/racefarm.json'), 'utf8');
    assert.ok(uid && dash.includes(`"uid": "${uid}"`), 'the dashboard uses the provisioned data source');
    const prov = readFileSync(join(ROOT, 'deploy/grafana/provisioning/dashboards/racefarm.yml'), 'utf8');
    assert.match(prov, /path: \/etc\/grafana\/dashboards/);
    assert.match(readFileSync(join(ROOT, 'deploy/docker-compose.yml'), 'utf8'), /\.\/grafana\/dashboards:\/etc\/grafana\/dashboards:ro/);
  });
});

describe('observability: metrics registry and server', function () {
  this.timeout(30_000);

  it('names follow the conventions: racefarm_ prefix, _total counters, _seconds histograms, no seed or signature label', async () => {
    for (const m of [new WorkerMetrics({ defaultMetrics: false }), new CoordinatorMetrics({ defaultMetrics: false })]) {
      for (const metric of m.registry.getMetricsAsArray()) {
        const { name, type, labelNames } = metric as unknown as { name: string; type: string; labelNames: string[] };
        assert.match(name, /^racefarm_[a-z0-9_]+$/, name);
        if (type === 'counter') assert.match(name, /_total$/, name);
        else assert.doesNotMatch(name, /_total$/, name);
        if (type === 'histogram') assert.match(name, /_seconds$/, name);
        for (const l of labelNames) assert.ok(['campaign', 'scenario', 'variant', 'oracle', 'class', 'strategy', 'queue', 'state'].includes(l), `${name}: label ${l}`);
      }
    }
  });

  it('violations, findings and new signatures carry the oracle class label (observable, invariant, limit)', async () => {
    const c = new CoordinatorMetrics({ defaultMetrics: false });
    const l = { campaign: 'c', scenario: 's', variant: 'v', strategy: 'random' };
    c.fuzzRecorded(l, { schedules: 5, byOracle: { 'stale-read': 2, 'split-mapping': 3, 'step-budget': 1 }, findings: [{ oracle: 'split-mapping' }] });
    c.newSignature(l, 'stale-read');
    const text = await c.registry.metrics();
    assert.match(text, /racefarm_violations_total\{[^}]*oracle="stale-read",class="observable"\} 2/);
    assert.match(text, /racefarm_violations_total\{[^}]*oracle="split-mapping",class="invariant"\} 3/);
    assert.match(text, /racefarm_violations_total\{[^}]*oracle="step-budget",class="limit"\} 1/);
    assert.match(text, /racefarm_findings_total\{[^}]*oracle="split-mapping",class="invariant"\} 1/);
    assert.match(text, /racefarm_unique_signatures_total\{[^}]*oracle="stale-read",class="observable"\} 1/);
  });

  it('serves /metrics, /healthz, 404 elsewhere; close() frees the port; a taken default port falls back', async function () {
    const w = new WorkerMetrics();
    w.record({ kind: 'fuzz', labels: { campaign: 'c', scenario: 's', variant: 'v', strategy: 'random' }, schedules: 10, steps: 100, seconds: 0.01 });
    const s = await startMetricsServer(w.registry, '127.0.0.1', 0);
    const got = await scrape(s.url);
    assert.match(got.contentType, /^text\/plain; version=0\.0\.4/);
    assert.equal(sum(got.samples, 'racefarm_schedules_total', { campaign: 'c' }), 10);
    assert.ok(got.samples.some((x) => x.name === 'process_cpu_seconds_total'), 'default process metrics');
    assert.equal((await fetch(s.url.replace('/metrics', '/healthz'))).status, 200);
    assert.equal((await fetch(s.url.replace('/metrics', '/nope'))).status, 404);
    if (have('promtool')) promtoolCheckMetrics(got.text);

    const fallback = await serveMetrics(w.registry, `127.0.0.1:${s.port}`, { explicit: false });
    assert.notEqual(fallback.port, s.port);
    await assert.rejects(serveMetrics(w.registry, `127.0.0.1:${s.port}`, { explicit: true }), /EADDRINUSE/);
    await fallback.close();

    const sick = await startMetricsServer(w.registry, '127.0.0.1', 0, { health: () => false });
    assert.equal((await fetch(sick.url.replace('/metrics', '/healthz'))).status, 503);
    await sick.close();

    await s.close();
    const again = await startMetricsServer(w.registry, '127.0.0.1', s.port);
    await again.close();
  });
});

describe('observability: /metrics of a running coordinator and workers during a real campaign', function () {
  this.timeout(180_000);
  const SCENARIO = 'cow-two-pages';
  const VARIANT = 'range-end-only';
  const SEEDS = 30_000;
  const BATCH = 1000;
  let redis: TestRedis;
  let coordinator: FarmProc;
  let workers: FarmProc[] = [];
  let client: FarmClient;
  let coordinatorUrl = '';
  let workerUrls: string[] = [];

  before(async () => {
    redis = await TestRedis.start();
    // RACEFARM_METRICS (the env form of --metrics): loopback, free ports. Locks of the production
    // length (30 s), not the tests' usual 2 s: a worker's racefarm_schedules_total counts the work it
    // executed, so a job whose short lock lapsed on a loaded machine and was run again by the other
    // worker is counted by both workers (the campaign's own totals stay exact; farm.zombie tests
    // that). This test checks that the counters add up, so no job may be re-run here.
    const env = { RACEFARM_METRICS: '127.0.0.1:0', RACEFARM_LOCK_MS: '30000', RACEFARM_STALLED_MS: '15000' };
    const c = await startCoordinatorProc(redis.url, { env });
    coordinator = c.proc;
    coordinatorUrl = coordinator.out.match(/coordinator metrics on (\S+)/)![1];
    // One single-threaded worker and one with two worker threads (their work counts in the parent's registry).
    workers = await Promise.all([startWorkerProc(redis.url, { env }), startWorkerProc(redis.url, { env, concurrency: 2 })]);
    workerUrls = workers.map((w) => w.out.match(/worker metrics on (\S+)/)![1]);
    client = new FarmClient(c.address);
  });

  after(async () => {
    client?.close();
    await Promise.all([...workers, coordinator].filter(Boolean).map((p) => p.stop()));
    await redis?.destroy();
  });

  it('serves loopback /metrics URLs from the coordinator and each worker', async () => {
    for (const u of [coordinatorUrl, ...workerUrls]) assert.match(u, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    assert.equal(new Set(workerUrls).size, 2);
    assert.equal((await fetch(coordinatorUrl.replace('/metrics', '/healthz'))).status, 200, 'the coordinator is healthy while Redis is up');
  });

  it('counters move with the campaign and end equal to its own totals', async () => {
    const started = await client.startCampaign({
      scenario_name: SCENARIO,
      variant_preset: VARIANT,
      strategy: 'random',
      seed_count: String(SEEDS),
      batch_size: BATCH,
      coverage: true,
    });
    const id = started.id;
    const cl = { campaign: id };

    // Scrape while the campaign runs: counters never go down, and some scrape sees it half done.
    let sawPartial = false;
    let sawRate = false;
    let lastSchedules = 0;
    let lastRecorded = 0;
    let view: CampaignView = started;
    for (;;) {
      view = await client.getCampaign(id);
      const ws = await Promise.all(workerUrls.map((u) => scrape(u)));
      const co = await scrape(coordinatorUrl);
      const schedules = ws.reduce((a, w) => a + sum(w.samples, 'racefarm_schedules_total', cl), 0);
      const recorded = sum(co.samples, 'racefarm_recorded_schedules_total', cl);
      assert.ok(schedules >= lastSchedules && recorded >= lastRecorded, 'counters are monotonic');
      lastSchedules = schedules;
      lastRecorded = recorded;
      if (schedules > 0 && schedules < SEEDS) sawPartial = true;
      if (ws.some((w) => sum(w.samples, 'racefarm_worker_schedules_per_second') > 0)) sawRate = true;
      if (view.state === 'done') break;
      assert.ok(view.state === 'pending' || view.state === 'running', view.state);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(sawPartial, 'a scrape during the campaign saw it partly done');
    assert.ok(sawRate, 'racefarm_worker_schedules_per_second rose above 0');

    const c = await client.getCampaign(id);
    assert.equal(c.schedules, SEEDS);
    assert.ok(c.uniqueSignatures > 0, 'range-end-only has races');
    assert.ok(c.coverageFeatures > 0);

    const ws = await Promise.all(workerUrls.map((u) => scrape(u)));
    const co = await scrape(coordinatorUrl);
    const wsum = (name: string, where: Record<string, string> = {}) => ws.reduce((a, w) => a + sum(w.samples, name, where), 0);

    // Workers: schedules and steps executed, summed over workers = the campaign's totals.
    assert.equal(wsum('racefarm_schedules_total', cl), c.schedules);
    assert.equal(wsum('racefarm_steps_total', cl), c.steps);
    assert.equal(wsum('racefarm_schedules_total', { ...cl, scenario: SCENARIO, variant: VARIANT, strategy: 'random' }), c.schedules, 'labelled with scenario, variant, strategy');
    assert.ok(sum(ws[1].samples, 'racefarm_schedules_total', cl) > 0, 'the threaded worker reports its threads\' work');
    assert.equal(wsum('racefarm_job_duration_seconds_count', { queue: 'fuzz' }), c.jobsTotal);
    // Every new signature is minimized once, on some worker.
    assert.equal(wsum('racefarm_shrink_duration_seconds_count'), c.uniqueSignatures);
    assert.equal(wsum('racefarm_job_duration_seconds_count', { queue: 'minimize' }), c.uniqueSignatures);

    // Coordinator: recorded totals = the campaign's.
    assert.equal(sum(co.samples, 'racefarm_recorded_schedules_total', cl), c.schedules);
    const byOracle: Record<string, number> = {};
    for (const s of co.samples) if (s.name === 'racefarm_violations_total' && s.labels.campaign === id) byOracle[s.labels.oracle] = s.value;
    assert.deepEqual(byOracle, Object.fromEntries(Object.entries(c.byOracle).filter(([, n]) => n > 0)));
    const findings = sum(co.samples, 'racefarm_findings_total', cl);
    assert.ok(findings >= c.uniqueSignatures, `findings ${findings} ≥ unique signatures ${c.uniqueSignatures}`);
    assert.equal(sum(co.samples, 'racefarm_unique_signatures_total', cl), c.uniqueSignatures, 'a fresh Redis: every signature is new to the farm');
    assert.equal(sum(co.samples, 'racefarm_campaign_unique_signatures', cl), c.uniqueSignatures);
    assert.equal(sum(co.samples, 'racefarm_campaign_coverage_features', cl), c.coverageFeatures);
    assert.equal(sum(co.samples, 'racefarm_campaign_progress_ratio', cl), 1);
    assert.equal(sum(co.samples, 'racefarm_campaign_minimize_pending', cl), 0);
    assert.equal(sum(co.samples, 'racefarm_campaigns', { state: 'done' }), 1);
    // Queue depth from BullMQ: nothing waits; the campaign's jobs completed (polled: a job is
    // marked completed just after its result is queued).
    await until(
      async () => {
        const q = (await scrape(coordinatorUrl)).samples;
        return (
          sum(q, 'racefarm_queue_jobs', { queue: 'fuzz', state: 'waiting' }) === 0 &&
          sum(q, 'racefarm_queue_jobs', { queue: 'fuzz', state: 'active' }) === 0 &&
          sum(q, 'racefarm_queue_jobs', { queue: 'fuzz', state: 'completed' }) === c.jobsTotal &&
          sum(q, 'racefarm_queue_jobs', { queue: 'minimize', state: 'completed' }) === c.uniqueSignatures
        );
      },
      10_000,
      'queue depth gauges: fuzz and minimize jobs completed',
    );
    await until(
      async () => (await Promise.all(workerUrls.map((u) => scrape(u)))).reduce((a, w) => a + sum(w.samples, 'racefarm_worker_jobs_total', { queue: 'fuzz', state: 'completed' }), 0) === c.jobsTotal,
      10_000,
      'racefarm_worker_jobs_total{queue="fuzz",state="completed"} = jobs',
    );

    // No sample carries a seed or a signature; promtool lints our families.
    for (const s of [...co.samples, ...ws.flatMap((w) => w.samples)]) {
      for (const l of Object.keys(s.labels)) assert.ok(!/seed|signature|sig/.test(l), `${s.name} has label ${l}`);
    }
    if (have('promtool')) {
      promtoolCheckMetrics(co.text);
      for (const w of ws) promtoolCheckMetrics(w.text);
    }
  });
});
