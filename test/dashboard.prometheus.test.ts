import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FarmClient } from '../cli/farmClient.ts';
import type { CampaignView } from '../farm/store.ts';
import { FarmProc, ROOT, startCoordinatorProc, startWorkerProc, until } from './helpers/farm.ts';
import { TestRedis, freePort } from './helpers/redis.ts';

// The Grafana dashboard of deploy/ against a real Prometheus (Debian's `prometheus`; Grafana itself
// is not installable here): a private redis-server, a coordinator and two workers on free loopback
// ports, Prometheus scraping them every second with deploy's job names, two campaigns that find the
// same race (the first collecting coverage, the second not), then every query of every panel —
// template variables substituted as Grafana does — evaluated through Prometheus's HTTP API.

const DASHBOARD = join(ROOT, 'deploy', 'grafana', 'dashboards', 'racefarm.json');
const DEPLOY_PROMETHEUS = join(ROOT, 'deploy', 'prometheus', 'prometheus.yml');
const SCRAPE_S = 1;

interface Target {
  expr?: string;
  refId?: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  targets?: Target[];
  panels?: Panel[];
  fieldConfig?: { defaults?: { mappings?: { type: string; options: Record<string, { text: string }> }[] } };
}
interface Dashboard {
  panels: Panel[];
  templating: { list: { name: string; query?: { query?: string } | string; definition?: string; allValue?: string }[] };
}

/** One series of a query result: its labels and its values over the range (or the one instant value). */
interface Series {
  readonly metric: Record<string, string>;
  readonly values: number[];
}

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

function panelsOf(d: Dashboard): Panel[] {
  const out: Panel[] = [];
  const walk = (ps: Panel[]) => {
    for (const p of ps) {
      if (p.type !== 'row') out.push(p);
      if (p.panels) walk(p.panels);
    }
  };
  walk(d.panels);
  return out;
}

/**
 * A panel's expression as Grafana sends it: `$__rate_interval` is max(4 × scrape interval,
 * step + scrape interval) — 4 s at a 1 s scrape and a 1 s step — (`$__rate_interval_ms` the same
 * in milliseconds), `$__interval` the step, and a
 * multi-value `$campaign` the regex of the selection (`(a|b)`; "All" is the variable's allValue).
 */
function substitute(expr: string, campaign: string, rateInterval = Math.max(4 * SCRAPE_S, 1 + SCRAPE_S)): string {
  return expr
    .replace(/\$__rate_interval_ms\b/g, String(rateInterval * 1000))
    .replace(/\$__rate_interval\b/g, `${rateInterval}s`)
    .replace(/\$__interval\b/g, '1s')
    .replace(/\$\{campaign(?::\w+)?\}|\$campaign\b|\[\[campaign\]\]/g, campaign);
}

class Prometheus {
  private constructor(
    readonly url: string,
    private readonly proc: FarmProc,
  ) {}

  static async start(dir: string, targets: { coordinator: string; workers: string[] }): Promise<Prometheus> {
    const port = await freePort();
    const hostPort = (u: string) => new URL(u).host;
    // deploy/prometheus/prometheus.yml's job names (the panels group by `instance`), static targets
    // instead of compose DNS, and a 1 s scrape so a short campaign leaves several samples.
    const config = [
      'global:',
      `  scrape_interval: ${SCRAPE_S}s`,
      '  scrape_timeout: 900ms',
      `  evaluation_interval: ${SCRAPE_S}s`,
      'scrape_configs:',
      '  - job_name: racefarm-coordinator',
      '    static_configs:',
      `      - targets: [${JSON.stringify(hostPort(targets.coordinator))}]`,
      '  - job_name: racefarm-worker',
      '    static_configs:',
      `      - targets: [${targets.workers.map((w) => JSON.stringify(hostPort(w))).join(', ')}]`,
      '',
    ].join('\n');
    const file = join(dir, 'prometheus.yml');
    writeFileSync(file, config);
    const check = spawnSync('promtool', ['check', 'config', file], { encoding: 'utf8' });
    assert.equal(check.status, 0, `promtool check config (generated):\n${check.stdout}${check.stderr}`);
    const proc = new FarmProc(
      spawn('prometheus', [`--config.file=${file}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    const p = new Prometheus(`http://127.0.0.1:${port}`, proc);
    await until(async () => proc.alive && (await fetch(`${p.url}/-/ready`)).ok, 20_000, `prometheus ready on ${p.url}\n${proc.err}`);
    return p;
  }

  private async api(path: string, params: Record<string, string>): Promise<{ resultType?: string; result?: unknown } & Record<string, unknown>> {
    const r = await fetch(`${this.url}${path}?${new URLSearchParams(params)}`);
    const body = (await r.json()) as { status: string; data: never; error?: string };
    assert.equal(body.status, 'success', `${path} ${JSON.stringify(params)}: ${body.error}`);
    return body.data;
  }

  /** /api/v1/query at `time` (seconds). */
  async instant(expr: string, time: number): Promise<Series[]> {
    const d = await this.api('/api/v1/query', { query: expr, time: String(time) });
    if (d.resultType === 'scalar') return [{ metric: {}, values: [Number((d.result as [number, string])[1])] }];
    return (d.result as { metric: Record<string, string>; value: [number, string] }[]).map((s) => ({ metric: s.metric, values: [Number(s.value[1])] }));
  }

  /** /api/v1/query_range, as Grafana asks for a panel's `range` targets (1 s step). */
  async range(expr: string, start: number, end: number): Promise<Series[]> {
    const d = await this.api('/api/v1/query_range', { query: expr, start: String(start), end: String(end), step: '1' });
    return (d.result as { metric: Record<string, string>; values: [number, string][] }[]).map((s) => ({ metric: s.metric, values: s.values.map((v) => Number(v[1])) }));
  }

  /** /api/v1/label/NAME/values?match[]=SELECTOR (Grafana's label_values(SELECTOR, NAME)). */
  async labelValues(name: string, selector: string): Promise<string[]> {
    const r = await fetch(`${this.url}/api/v1/label/${name}/values?${new URLSearchParams({ 'match[]': selector })}`);
    return ((await r.json()) as { data: string[] }).data;
  }

  /** Targets Prometheus scrapes, with their health. */
  async targets(): Promise<{ job: string; health: string }[]> {
    const r = (await (await fetch(`${this.url}/api/v1/targets`)).json()) as { data: { activeTargets: { labels: { job: string }; health: string }[] } };
    return r.data.activeTargets.map((t) => ({ job: t.labels.job, health: t.health }));
  }

  stop(): Promise<void> {
    return this.proc.stop();
  }
}

const finite = (xs: readonly number[]) => xs.filter((x) => Number.isFinite(x));

describe('dashboard: every panel of deploy/grafana against a real Prometheus scraping a real farm', function () {
  this.timeout(120_000);
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
  const panels = panelsOf(dashboard);
  let tmp = '';
  let redis: TestRedis | undefined;
  let coordinator: FarmProc | undefined;
  let workers: FarmProc[] = [];
  let prometheus: Prometheus | undefined;
  let client: FarmClient | undefined;
  let start = 0;
  let end = 0;
  let withCoverage: CampaignView;
  let withoutCoverage: CampaignView;
  let distinctRaces = 0;

  /** One panel's query results, each target evaluated as Grafana would, for a `$campaign` selection. */
  async function evaluate(p: Panel, campaign: string): Promise<{ expr: string; series: Series[] }[]> {
    const out: { expr: string; series: Series[] }[] = [];
    for (const t of p.targets ?? []) {
      if (!t.expr) continue;
      const expr = substitute(t.expr, campaign);
      out.push({ expr, series: p.type === 'stat' || p.type === 'bargauge' ? await prometheus!.instant(expr, end) : await prometheus!.range(expr, start, end) });
    }
    return out;
  }

  const panel = (title: string): Panel => {
    const p = panels.find((x) => x.title === title);
    assert.ok(p, `the dashboard has a panel "${title}"`);
    return p;
  };

  before(async function () {
    this.timeout(150_000);
    for (const [cmd, pkg] of [
      ['prometheus', 'prometheus'],
      ['promtool', 'prometheus'],
      ['redis-server', 'redis-server'],
    ]) {
      if (!have(cmd)) {
        process.stderr.write(`      skipped: ${cmd} is not installed (apt-get install -y ${pkg}; .ci/run installs it)\n`);
        this.skip();
      }
    }
    const t0 = Date.now();
    tmp = mkdtempSync(join(tmpdir(), 'racefarm-prometheus-'));
    redis = await TestRedis.start();
    const env = { RACEFARM_METRICS: '127.0.0.1:0' };
    // Workers need only Redis: start them with the coordinator.
    const [c, ...ws] = await Promise.all([startCoordinatorProc(redis.url, { env }), startWorkerProc(redis.url, { env }), startWorkerProc(redis.url, { env, concurrency: 2 })]);
    coordinator = c.proc;
    workers = ws as FarmProc[];
    const coordinatorUrl = coordinator.out.match(/coordinator metrics on (\S+)/)![1];
    const workerUrls = workers.map((w) => w.out.match(/worker metrics on (\S+)/)![1]);
    prometheus = await Prometheus.start(tmp, { coordinator: coordinatorUrl, workers: workerUrls });
    // Every target scraped once before any job runs: a counter's first sample is not counted by
    // rate() or increase(), so on a quiet machine a 3,000-seed campaign that ends before the first
    // scrape of a worker would leave its job and shrink panels at 0 for the whole test.
    await until(async () => {
      const targets = await prometheus!.instant('up', Math.floor(Date.now() / 1000));
      return targets.length === 3 && targets.every((u) => u.values[0] === 1);
    }, 20_000, 'prometheus scraped the coordinator and both workers (up 1) before the campaigns');
    start = Math.floor(Date.now() / 1000) - 1;
    const up = Date.now();

    client = new FarmClient(c.address);
    const run = async (req: Parameters<FarmClient['startCampaign']>[0]): Promise<CampaignView> => {
      const { id } = await client!.startCampaign(req);
      return until(async () => {
        const v = await client!.getCampaign(id);
        return v.state === 'done' && v.minimizePending === 0 ? v : undefined;
      }, 60_000, `campaign ${id} done and minimized`);
    };
    // The same seeds, with and without coverage: the second finds only races the first found already.
    const base = { scenario_name: 'cow-two-pages', variant_preset: 'range-end-only', strategy: 'random', batch_size: 1000 };
    withCoverage = await run({ ...base, seed_count: '3000', coverage: true, name: 'with coverage' });
    withoutCoverage = await run({ ...base, seed_count: '3000', coverage: false, name: 'without coverage' });
    distinctRaces = (await client.listFindings()).length;

    // Prometheus has scraped the end state: both campaigns done, nothing left to minimize.
    await until(async () => {
      const t = Math.floor(Date.now() / 1000);
      const done = await prometheus!.instant(`racefarm_campaign_progress_ratio{campaign=~"${withCoverage.id}|${withoutCoverage.id}"} == 1`, t);
      const pending = await prometheus!.instant('sum(racefarm_campaign_minimize_pending)', t);
      const shrinks = await prometheus!.instant('sum(racefarm_shrink_duration_seconds_count)', t);
      const targets = await prometheus!.instant('up', t);
      return targets.length === 3 && targets.every((u) => u.values[0] === 1) && done.length === 2 && pending[0]?.values[0] === 0 && (shrinks[0]?.values[0] ?? 0) >= distinctRaces;
    }, 20_000, 'prometheus scrapes the coordinator and both workers (up 1), and scraped both campaigns done and every new signature shrunk');
    // A few more scrapes after the end, so every rate() window ending now holds samples.
    await new Promise((r) => setTimeout(r, 3000));
    end = Math.floor(Date.now() / 1000);
    process.stderr.write(`      (farm and Prometheus up in ${((up - t0) / 1000).toFixed(1)} s, campaigns run and scraped in ${((Date.now() - up) / 1000).toFixed(1)} s)\n`);
  });

  after(async () => {
    client?.close();
    await prometheus?.stop();
    await Promise.all([...workers, coordinator].filter((p): p is FarmProc => p !== undefined).map((p) => p.stop()));
    await redis?.destroy();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('the two campaigns found the same race, the second one after the first; the first collected coverage', () => {
    assert.ok(withCoverage.uniqueSignatures > 0 && withoutCoverage.uniqueSignatures > 0);
    assert.ok(distinctRaces < withCoverage.uniqueSignatures + withoutCoverage.uniqueSignatures, 'a race is shared by both campaigns');
    assert.ok(withCoverage.coverageFeatures > 0);
  });

  it('the template variable lists both campaigns (label_values through /api/v1/label)', async () => {
    const v = dashboard.templating.list.find((x) => x.name === 'campaign');
    assert.ok(v);
    const def = v.definition ?? (typeof v.query === 'string' ? v.query : v.query?.query) ?? '';
    const m = /^label_values\((.*),\s*(\w+)\)$/.exec(def.trim());
    assert.ok(m, `label_values query: ${def}`);
    const values = await prometheus!.labelValues(m[2], m[1]);
    assert.deepEqual(values.sort(), [withCoverage.id, withoutCoverage.id].sort());
    assert.equal(v.allValue, '.*');
  });

  it('every panel query returns data, with "All" campaigns and with both selected', async () => {
    const exprs = panels.flatMap((p) => (p.targets ?? []).filter((t) => t.expr));
    assert.ok(exprs.length >= 20, `${exprs.length} queries`);
    for (const selection of ['.*', `(${withCoverage.id}|${withoutCoverage.id})`]) {
      for (const p of panels) {
        for (const { expr, series } of await evaluate(p, selection)) {
          assert.ok(series.length > 0, `panel "${p.title}" ($campaign=${selection}): no series for ${expr}`);
          assert.ok(series.some((s) => finite(s.values).length > 0), `panel "${p.title}": only NaN for ${expr}`);
        }
      }
    }
  });

  it('the panels that measure activity saw it: findings, violations, schedules/s, steps/s, job durations', async () => {
    const never: string[] = [];
    for (const title of ['Findings over time by oracle and variant', 'Violating schedules / s by oracle and variant', 'Schedules / s per worker', 'Steps / s by campaign', 'Job duration (p90) by queue', 'Worker jobs / s by outcome']) {
      for (const { expr, series } of await evaluate(panel(title), '.*')) {
        if (!series.some((s) => finite(s.values).some((x) => x > 0))) never.push(`panel "${title}": ${expr}`);
      }
    }
    assert.deepEqual(never, [], 'queries never above 0');
    const w = await evaluate(panel('Workers'), '.*');
    assert.equal(w[0].series[0].values[0], 2, 'two workers');
  });

  it('findings over time counts every finding the coordinator recorded, those of newly born series included', async () => {
    // One window spanning the whole test: the panel's value is then every finding in it.
    const expr = substitute(panel('Findings over time by oracle and variant').targets![0].expr!, '.*', end - start + 60);
    const panelSum = (await prometheus!.instant(`sum(${expr})`, end))[0]?.values[0];
    const recorded = (await prometheus!.instant('sum(racefarm_findings_total)', end))[0]?.values[0];
    assert.ok(recorded !== undefined && recorded > 0);
    assert.equal(panelSum, recorded);
  });

  it('shrink latency: the p50/p90/p99 lines are above 0 after the campaigns minimized their races', async () => {
    const results = await evaluate(panel('Shrink latency'), '.*');
    assert.equal(results.length, 3);
    for (const { expr, series } of results) {
      assert.equal(series.length, 1, expr);
      const last = finite(series[0].values).at(-1);
      assert.ok(last !== undefined && last > 0, `${expr}: last value ${last}`);
    }
  });

  it('races are counted once across the two campaigns that found the same race', async () => {
    const both = `(${withCoverage.id}|${withoutCoverage.id})`;
    const [first] = await evaluate(panel('Races first found in selected campaigns'), both);
    assert.equal(first.series[0].values[0], distinctRaces, 'the stat counts each race once');
    const [unique] = await evaluate(panel('Unique races'), '.*');
    assert.equal(unique.series[0].values[0], distinctRaces);
    // What the stat would show had it summed per-campaign counts: the shared race twice.
    const perCampaign = await prometheus!.instant(`sum(racefarm_campaign_unique_signatures{campaign=~"${both}"})`, end);
    assert.equal(perCampaign[0].values[0], withCoverage.uniqueSignatures + withoutCoverage.uniqueSignatures);
    assert.ok(perCampaign[0].values[0] > distinctRaces);
    // One campaign selected: only the races it found first.
    const [second] = await evaluate(panel('Races first found in selected campaigns'), withoutCoverage.id);
    assert.equal(second.series[0].values[0], distinctRaces - withCoverage.uniqueSignatures);
  });

  it('coverage: the collecting campaign shows its features, the other "not collected" (and no growth line)', async () => {
    const p = panel('Coverage per campaign');
    const [cov] = await evaluate(p, '.*');
    const by = new Map(cov.series.map((s) => [s.metric.campaign, s.values[0]]));
    assert.equal(by.size, 2, JSON.stringify(cov.series));
    assert.equal(by.get(withCoverage.id), withCoverage.coverageFeatures);
    const notCollected = by.get(withoutCoverage.id);
    const mapping = p.fieldConfig?.defaults?.mappings?.find((m) => m.type === 'value');
    assert.equal(mapping?.options[String(notCollected)]?.text, 'not collected', `the value ${notCollected} maps to "not collected"`);
    const [growth] = await evaluate(panel('Coverage growth per campaign'), '.*');
    assert.deepEqual([...new Set(growth.series.map((s) => s.metric.campaign))], [withCoverage.id]);
    assert.ok(finite(growth.series[0].values).some((x) => x > 0));
  });

  it('promtool accepts deploy/prometheus/prometheus.yml; it has no rule files to check', () => {
    const r = spawnSync('promtool', ['check', 'config', DEPLOY_PROMETHEUS], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    const cfg = readFileSync(DEPLOY_PROMETHEUS, 'utf8');
    assert.doesNotMatch(cfg, /rule_files:/, 'rule files would need `promtool check rules` here');
    for (const job of ['racefarm-coordinator', 'racefarm-worker']) assert.match(cfg, new RegExp(`job_name: ${job}\\b`), `the generated config uses deploy's job name ${job}`);
  });
});
