/**
 * Prometheus metrics of the farm (docs/farm.md): one registry per process, served on `/metrics`.
 *
 * Naming follows the Prometheus conventions: every family is prefixed `racefarm_`, counters end in
 * `_total`, durations are histograms in seconds, and labels come from small, bounded sets
 * (campaign, scenario, variant, oracle, class, strategy, queue, state) — never a seed or a signature.
 * The process and Node.js runtime metrics of prom-client (`process_*`, `nodejs_*`) keep their
 * standard names so that stock dashboards work.
 *
 * Who exports what:
 *   worker       racefarm_schedules_total, racefarm_steps_total (schedules and steps executed),
 *                racefarm_worker_jobs_total, racefarm_job_duration_seconds,
 *                racefarm_shrink_duration_seconds, racefarm_worker_schedules_per_second
 *   coordinator  racefarm_violations_total, racefarm_findings_total, racefarm_unique_signatures_total
 *                (recorded once per seed range, so retried jobs never count twice),
 *                racefarm_campaign_* gauges and racefarm_queue_jobs (read from Redis at scrape time)
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { classOfName } from '../sim/oracles/classes.ts';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type MetricsRole = 'coordinator' | 'worker';

/** Default `/metrics` listen addresses (loopback): coordinator and worker. */
export const DEFAULT_METRICS = { coordinator: '127.0.0.1:9464', worker: '127.0.0.1:9465' } as const;

/** Where to serve `/metrics`: the flag, else RACEFARM_METRICS, else the role's default; `off` disables. */
export function metricsAddress(role: MetricsRole, flag?: string): { address: string | null; explicit: boolean } {
  const v = flag ?? process.env.RACEFARM_METRICS;
  const explicit = v !== undefined && v !== '';
  const address = explicit ? v : DEFAULT_METRICS[role];
  return { address: address === 'off' || address === 'none' ? null : address, explicit };
}

const CAMPAIGN_LABELS = ['campaign', 'scenario', 'variant', 'strategy'] as const;
/** `class`: the oracle's class (sim/oracles/classes.ts: observable, invariant, limit), so a panel can keep to observable races. */
const ORACLE_LABELS = ['campaign', 'scenario', 'variant', 'oracle', 'class'] as const;

/** The class label of an oracle name; `unknown` for a name from an older or newer simulator. */
function classLabel(oracle: string): string {
  return classOfName(oracle) ?? 'unknown';
}
const GAUGE_LABELS = ['campaign', 'scenario', 'variant', 'strategy'] as const;

export interface CampaignLabels {
  readonly campaign: string;
  readonly scenario: string;
  readonly variant: string;
  readonly strategy: string;
}

/** One thing a worker did, as a plain object (worker threads post these to the parent thread). */
export type WorkerMetricEvent =
  | { readonly kind: 'fuzz'; readonly labels: CampaignLabels; readonly schedules: number; readonly steps: number; readonly seconds: number; readonly programs?: number }
  | { readonly kind: 'minimize'; readonly scenario: string; readonly variant: string; readonly oracle: string; readonly ok: boolean; readonly seconds: number }
  | { readonly kind: 'job'; readonly queue: string; readonly state: 'completed' | 'failed' | 'skipped' };

/** Receives a worker's metric events (the registry itself, or a worker thread's parent port). */
export interface MetricSink {
  record(ev: WorkerMetricEvent): void;
}

const JOB_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const SHRINK_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Window of racefarm_worker_schedules_per_second. */
const RATE_WINDOW_MS = 15_000;

function newRegistry(defaults: boolean): Registry {
  const registry = new Registry();
  if (defaults) collectDefaultMetrics({ register: registry });
  return registry;
}

/** A worker's metrics. `record` applies one event (from this thread or a worker thread). */
export class WorkerMetrics implements MetricSink {
  readonly registry: Registry;
  readonly schedules: Counter<(typeof CAMPAIGN_LABELS)[number]>;
  readonly steps: Counter<(typeof CAMPAIGN_LABELS)[number]>;
  readonly jobs: Counter<'queue' | 'state'>;
  readonly jobDuration: Histogram<'queue'>;
  readonly shrinkDuration: Histogram;
  readonly schedulesPerSecond: Gauge;
  /** Generated programs run (explore campaigns, farm/exploreCampaign.ts). */
  readonly programs: Counter<(typeof CAMPAIGN_LABELS)[number]>;
  private readonly recent: { t: number; n: number }[] = [];
  private readonly startedAt = Date.now();

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [(this.registry = newRegistry(opts.defaultMetrics !== false))];
    this.schedules = new Counter({
      name: 'racefarm_schedules_total',
      help: 'Schedules (simulator runs, one per seed) executed by this worker, re-runs of a job whose lock lapsed included (the campaign totals count each seed once).',
      labelNames: CAMPAIGN_LABELS,
      registers,
    });
    this.programs = new Counter({
      name: 'racefarm_programs_total',
      help: 'Generated programs run by this worker (explore campaigns; each with its schedules in racefarm_schedules_total).',
      labelNames: CAMPAIGN_LABELS,
      registers,
    });
    this.steps = new Counter({
      name: 'racefarm_steps_total',
      help: 'Simulator steps executed by this worker.',
      labelNames: CAMPAIGN_LABELS,
      registers,
    });
    this.jobs = new Counter({
      name: 'racefarm_worker_jobs_total',
      help: 'Jobs this worker finished, by queue (fuzz, minimize) and outcome (completed, failed, skipped).',
      labelNames: ['queue', 'state'],
      registers,
    });
    this.jobDuration = new Histogram({
      name: 'racefarm_job_duration_seconds',
      help: 'Time to run one job, by queue (fuzz: a seed range; minimize: one signature).',
      labelNames: ['queue'],
      buckets: JOB_BUCKETS,
      registers,
    });
    // Both queues' series exist (at 0) before their first job, so rate() sees that job too.
    for (const queue of ['fuzz', 'minimize']) {
      this.jobDuration.zero({ queue });
      for (const state of ['completed', 'failed', 'skipped'] as const) this.jobs.inc({ queue, state }, 0);
    }
    // No labels: a histogram labelled per scenario/variant/oracle got a new series for nearly every
    // shrink (a campaign shrinks each new signature once), each born at count 1, so rate() over it
    // stayed 0 and the latency panel never showed data. One series, exported at 0 from the start,
    // rises with every shrink.
    this.shrinkDuration = new Histogram({
      name: 'racefarm_shrink_duration_seconds',
      help: 'Time to minimize (shrink and replay) one new signature, every scenario, variant and oracle together.',
      buckets: SHRINK_BUCKETS,
      registers,
    });
    const self = this;
    this.schedulesPerSecond = new Gauge({
      name: 'racefarm_worker_schedules_per_second',
      help: `Schedules executed per second by this worker over the last ${RATE_WINDOW_MS / 1000} s.`,
      registers,
      collect() {
        this.set(self.rate(Date.now()));
      },
    });
  }

  record(ev: WorkerMetricEvent): void {
    switch (ev.kind) {
      case 'fuzz': {
        const l = { campaign: ev.labels.campaign, scenario: ev.labels.scenario, variant: ev.labels.variant, strategy: ev.labels.strategy };
        this.schedules.inc(l, ev.schedules);
        this.steps.inc(l, ev.steps);
        if (ev.programs !== undefined) this.programs.inc(l, ev.programs);
        this.jobDuration.observe({ queue: 'fuzz' }, ev.seconds);
        this.recent.push({ t: Date.now(), n: ev.schedules });
        this.rate(Date.now());
        break;
      }
      case 'minimize':
        this.jobDuration.observe({ queue: 'minimize' }, ev.seconds);
        this.shrinkDuration.observe(ev.seconds);
        break;
      case 'job':
        this.jobs.inc({ queue: ev.queue, state: ev.state });
        break;
    }
  }

  /** Schedules per second over the window (drops older entries). */
  private rate(now: number): number {
    while (this.recent.length > 0 && this.recent[0].t <= now - RATE_WINDOW_MS) this.recent.shift();
    const span = Math.min(RATE_WINDOW_MS, Math.max(1000, now - this.startedAt)) / 1000;
    return this.recent.reduce((a, e) => a + e.n, 0) / span;
  }
}

/** Recent campaigns and queue counts, read from Redis when Prometheus scrapes the coordinator. */
export interface FarmSnapshot {
  readonly campaigns: readonly {
    readonly id: string;
    readonly state: string;
    readonly scenario: string;
    readonly variant: string;
    readonly strategy: string;
    readonly jobsDone: number;
    readonly jobsTotal: number;
    readonly uniqueSignatures: number;
    /** Signatures this campaign found before any other campaign did (coordinator/firstFound.ts). */
    readonly firstSignatures: number;
    /** Whether the campaign collects coverage (started with --coverage or the coverage strategy). */
    readonly coverage: boolean;
    readonly coverageFeatures: number;
    readonly minimizePending: number;
    /** Seed ranges whose fuzz job failed for good (not counted in the totals until retried). */
    readonly failedRangeCount?: number;
  }[];
  /** queue → BullMQ state → jobs (Queue.getJobCounts()). */
  readonly queues: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/** The coordinator's metrics. */
export class CoordinatorMetrics {
  readonly registry: Registry;
  readonly violations: Counter<(typeof ORACLE_LABELS)[number]>;
  readonly findings: Counter<(typeof ORACLE_LABELS)[number]>;
  readonly uniqueSignatures: Counter<(typeof ORACLE_LABELS)[number]>;
  readonly recordedSchedules: Counter<(typeof CAMPAIGN_LABELS)[number]>;
  readonly campaignCoverage: Gauge<(typeof GAUGE_LABELS)[number]>;
  readonly campaignSignatures: Gauge<(typeof GAUGE_LABELS)[number]>;
  readonly campaignFirstSignatures: Gauge<(typeof GAUGE_LABELS)[number]>;
  readonly campaignCoverageCollected: Gauge<(typeof GAUGE_LABELS)[number]>;
  readonly campaignProgress: Gauge<(typeof GAUGE_LABELS)[number]>;
  readonly campaignMinimizePending: Gauge<(typeof GAUGE_LABELS)[number]>;
  readonly campaignFailedRanges: Gauge<(typeof GAUGE_LABELS)[number]>;
  readonly campaigns: Gauge<'state'>;
  readonly queueJobs: Gauge<'queue' | 'state'>;
  readonly scrapeErrors: Counter;
  private snapshot: (() => Promise<FarmSnapshot>) | undefined;
  private refreshing: Promise<void> | undefined;

  constructor(opts: { defaultMetrics?: boolean; snapshot?: () => Promise<FarmSnapshot> } = {}) {
    const registers = [(this.registry = newRegistry(opts.defaultMetrics !== false))];
    this.snapshot = opts.snapshot;
    this.violations = new Counter({
      name: 'racefarm_violations_total',
      help: 'Schedules that violated an oracle, recorded once per seed range.',
      labelNames: ORACLE_LABELS,
      registers,
    });
    this.findings = new Counter({
      name: 'racefarm_findings_total',
      help: 'Findings reported by fuzz jobs (one per distinct signature per seed range), recorded once per range.',
      labelNames: ORACLE_LABELS,
      registers,
    });
    this.uniqueSignatures = new Counter({
      name: 'racefarm_unique_signatures_total',
      help: 'Signatures (distinct races) new to the farm, by the campaign that found them first.',
      labelNames: ORACLE_LABELS,
      registers,
    });
    this.recordedSchedules = new Counter({
      name: 'racefarm_recorded_schedules_total',
      help: "Schedules counted in campaigns' totals (each seed range once, whatever the retries).",
      labelNames: CAMPAIGN_LABELS,
      registers,
    });
    const refresh = () => this.refresh();
    this.campaignCoverage = new Gauge({
      name: 'racefarm_campaign_coverage_features',
      help: 'Distinct coverage features a campaign reached; only campaigns that collect coverage have this series.',
      labelNames: GAUGE_LABELS,
      registers,
      collect: refresh,
    });
    this.campaignCoverageCollected = new Gauge({
      name: 'racefarm_campaign_coverage_collected',
      help: 'Whether a campaign collects coverage (1) or not (0): a dashboard shows "not collected" rather than 0 features.',
      labelNames: GAUGE_LABELS,
      registers,
      collect: refresh,
    });
    this.campaignSignatures = new Gauge({
      name: 'racefarm_campaign_unique_signatures',
      help: 'Distinct signatures (races) a campaign found.',
      labelNames: GAUGE_LABELS,
      registers,
      collect: refresh,
    });
    this.campaignFirstSignatures = new Gauge({
      name: 'racefarm_campaign_first_signatures',
      help: 'Distinct signatures (races) a campaign found before any other campaign: summed over campaigns, each race counts once.',
      labelNames: GAUGE_LABELS,
      registers,
      collect: refresh,
    });
    this.campaignProgress = new Gauge({
      name: 'racefarm_campaign_progress_ratio',
      help: "Share of a campaign's fuzz jobs recorded (0 to 1).",
      labelNames: GAUGE_LABELS,
      registers,
      collect: refresh,
    });
    this.campaignMinimizePending = new Gauge({
      name: 'racefarm_campaign_minimize_pending',
      help: 'Signatures of a campaign still waiting to be minimized.',
      labelNames: GAUGE_LABELS,
      registers,
      collect: refresh,
    });
    this.campaignFailedRanges = new Gauge({
      name: 'racefarm_campaign_failed_ranges',
      help: 'Seed ranges of a campaign whose fuzz job failed every attempt (`campaign retry` re-enqueues them).',
      labelNames: GAUGE_LABELS,
      registers,
      collect: refresh,
    });
    this.campaigns = new Gauge({
      name: 'racefarm_campaigns',
      help: 'Recent campaigns by state (pending, running, done, incomplete, cancelled).',
      labelNames: ['state'],
      registers,
      collect: refresh,
    });
    this.queueJobs = new Gauge({
      name: 'racefarm_queue_jobs',
      help: 'Jobs in a BullMQ queue (fuzz, minimize, results) by state (waiting, active, delayed, …): the queue depth.',
      labelNames: ['queue', 'state'],
      registers,
      collect: refresh,
    });
    this.scrapeErrors = new Counter({
      name: 'racefarm_scrape_errors_total',
      help: 'Scrapes whose campaign and queue gauges could not be read from Redis (the gauges keep their last values).',
      registers,
    });
  }

  setSnapshot(snapshot: () => Promise<FarmSnapshot>): void {
    this.snapshot = snapshot;
  }

  /** One recorded fuzz range (call only when the store counted it: `recorded` true). */
  fuzzRecorded(l: CampaignLabels, r: { schedules: number; byOracle: Partial<Record<string, number>>; findings: readonly { oracle: string }[] }): void {
    const base = { campaign: l.campaign, scenario: l.scenario, variant: l.variant };
    this.recordedSchedules.inc({ ...base, strategy: l.strategy }, r.schedules);
    for (const [oracle, n] of Object.entries(r.byOracle)) if (n) this.violations.inc({ ...base, oracle, class: classLabel(oracle) }, n);
    for (const f of r.findings) this.findings.inc({ ...base, oracle: f.oracle, class: classLabel(f.oracle) });
  }

  /** A signature seen for the first time by the farm. */
  newSignature(l: Omit<CampaignLabels, 'strategy'>, oracle: string): void {
    this.uniqueSignatures.inc({ campaign: l.campaign, scenario: l.scenario, variant: l.variant, oracle, class: classLabel(oracle) });
  }

  /**
   * Reads the snapshot once per scrape: a registry starts every metric's collect in the same tick,
   * so the gauges share the read in flight; the next scrape reads afresh.
   */
  private refresh(): Promise<void> {
    if (!this.snapshot) return Promise.resolve();
    this.refreshing ??= this.load(this.snapshot).finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async load(snapshot: () => Promise<FarmSnapshot>): Promise<void> {
    let s: FarmSnapshot;
    try {
      s = await withTimeout(snapshot(), 3000);
    } catch {
      this.scrapeErrors.inc();
      return;
    }
    // Campaign gauges show only the snapshot's (recent) campaigns: older ones drop out.
    for (const g of [this.campaignCoverage, this.campaignCoverageCollected, this.campaignSignatures, this.campaignFirstSignatures, this.campaignProgress, this.campaignMinimizePending, this.campaignFailedRanges, this.campaigns, this.queueJobs]) g.reset();
    const byState: Record<string, number> = { pending: 0, running: 0, done: 0, incomplete: 0, cancelled: 0 };
    for (const c of s.campaigns) {
      const l = { campaign: c.id, scenario: c.scenario, variant: c.variant, strategy: c.strategy };
      // No coverage series for a campaign that does not collect it: absent, not a misleading 0.
      if (c.coverage) this.campaignCoverage.set(l, c.coverageFeatures);
      this.campaignCoverageCollected.set(l, c.coverage ? 1 : 0);
      this.campaignSignatures.set(l, c.uniqueSignatures);
      this.campaignFirstSignatures.set(l, c.firstSignatures);
      this.campaignProgress.set(l, c.jobsTotal > 0 ? c.jobsDone / c.jobsTotal : 0);
      this.campaignMinimizePending.set(l, c.minimizePending);
      this.campaignFailedRanges.set(l, c.failedRangeCount ?? 0);
      byState[c.state] = (byState[c.state] ?? 0) + 1;
    }
    for (const [state, n] of Object.entries(byState)) this.campaigns.set({ state }, n);
    for (const [queue, counts] of Object.entries(s.queues)) {
      for (const [state, n] of Object.entries(counts)) this.queueJobs.set({ queue, state }, n);
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

/** The registry of a role, with every metric family that role exports. */
export function createMetrics(role: 'worker'): WorkerMetrics;
export function createMetrics(role: 'coordinator'): CoordinatorMetrics;
export function createMetrics(role: MetricsRole): WorkerMetrics | CoordinatorMetrics;
export function createMetrics(role: MetricsRole): WorkerMetrics | CoordinatorMetrics {
  return role === 'worker' ? new WorkerMetrics() : new CoordinatorMetrics();
}

/**
 * Every sample name the farm can export (both roles, default metrics included), with the
 * `_bucket`, `_sum` and `_count` series of histograms and summaries: what a dashboard query may use.
 */
export function exportedMetricNames(): Set<string> {
  const names = new Set<string>();
  for (const m of [new WorkerMetrics(), new CoordinatorMetrics()]) {
    for (const metric of m.registry.getMetricsAsArray()) {
      const { name, type } = metric as unknown as { name: string; type: string };
      // A histogram's or summary's samples are its _bucket/_sum/_count series, not its bare name.
      if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
      else if (type === 'summary') for (const s of ['', '_sum', '_count']) names.add(name + s);
      else names.add(name);
    }
  }
  return names;
}

/**
 * More pages on the same listener (the coordinator's findings web view, coordinator/web/): called for
 * every path but `/metrics` and `/healthz`; resolves true when it answered the request.
 */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

export interface MetricsServer {
  readonly host: string;
  readonly port: number;
  /** http://HOST:PORT/metrics */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves `registry` on `http://HOST:PORT/metrics` (GET or HEAD). `/healthz` answers 200 `ok`, or 503
 * when `opts.health` says the process is not healthy (the compose healthchecks use it).
 * Port 0 picks a free port. Loopback by default: bind 0.0.0.0 only where a scraper needs it.
 */
export async function startMetricsServer(
  registry: Registry,
  host = '127.0.0.1',
  port = 0,
  opts: { health?: () => boolean; web?: HttpHandler; token?: string } = {},
): Promise<MetricsServer> {
  const expected = opts.token ? Buffer.from(`Bearer ${opts.token}`) : null;
  const server: Server = createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' && path !== '/healthz' && opts.web) {
      try {
        if (await opts.web(req, res)) return;
      } catch (e) {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`internal error: ${(e as Error).message}\n`);
        return;
      }
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      // With a metrics token, /metrics needs `authorization: Bearer <token>` (Prometheus:
      // `authorization: { credentials: … }`); /healthz stays open for health checks.
      if (expected) {
        const got = Buffer.from(req.headers.authorization ?? '');
        if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
          res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer realm="racefarm metrics"' }).end('metrics: bearer token required\n');
          return;
        }
      }
      registry.metrics().then(
        (body) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(req.method === 'HEAD' ? undefined : body);
        },
        (e: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`${e.message}\n`);
        },
      );
    } else if (path === '/healthz') {
      const ok = opts.health ? opts.health() : true;
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' }).end(ok ? 'ok\n' : 'unhealthy\n');
    } else if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<a href="/metrics">/metrics</a>\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
    }
  });
  server.keepAliveTimeout = 65_000;
  const h = host.startsWith('[') ? host.slice(1, -1) : host;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, h, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const urlHost = h.includes(':') ? `[${h}]` : h;
  let closing: Promise<void> | undefined;
  return {
    host: h,
    port: bound,
    url: `http://${urlHost}:${bound}/metrics`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/**
 * Serves `/metrics` at a `HOST:PORT` address for a role's process. When the address is the role's
 * default (not asked for explicitly) and its port is taken — several workers on one machine — it
 * serves on a free port instead, and says so; an explicit address that cannot be bound is an error.
 */
export async function serveMetrics(
  registry: Registry,
  address: string,
  opts: { explicit: boolean; health?: () => boolean; web?: HttpHandler; log?: (msg: string) => void; token?: string },
): Promise<MetricsServer> {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(address);
  if (!m || Number(m[2]) > 65535) throw new Error(`--metrics: ${JSON.stringify(address)} is not HOST:PORT (or off)`);
  const [host, port] = [m[1], Number(m[2])];
  try {
    return await startMetricsServer(registry, host, port, { health: opts.health, web: opts.web, token: opts.token });
  } catch (e) {
    if (opts.explicit || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw new Error(`metrics on ${address}: ${(e as Error).message}`);
    const s = await startMetricsServer(registry, host, 0, { health: opts.health, web: opts.web, token: opts.token });
    opts.log?.(`metrics: ${address} is in use, serving on ${s.host}:${s.port} instead`);
    return s;
  }
}
