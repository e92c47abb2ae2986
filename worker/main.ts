import { hostname } from 'node:os';
import { Worker as ThreadWorker, threadId } from 'node:worker_threads';
import { Queue, Worker, type Job } from 'bullmq';
import { PREFIX, checkRedisAuth, connectRedis, lockTiming, type LockTiming } from '../farm/config.ts';
import { keys } from '../farm/keys.ts';
import { compiledModule, threadExecArgv } from '../farm/compiled.ts';
import {
  jobOptions,
  QUEUES,
  fuzzResultJobId,
  minimizedResultJobId,
  type FuzzJobData,
  type FuzzResult,
  type MinimizeJobData,
  type MinimizedResult,
} from '../farm/jobs.ts';
import { runFuzzRange } from './fuzz.ts';
import { SimThread } from '../coordinator/simThread.ts';
import { runExploreJob } from './explore.ts';
import { minimizeFinding } from './minimize.ts';
import { WorkerMetrics, serveMetrics, type MetricSink, type MetricsServer, type WorkerMetricEvent } from '../farm/metrics.ts';

/** The queues a worker can consume. */
export const WORKER_QUEUES = [QUEUES.fuzz, QUEUES.minimize] as const;
export type WorkerQueue = (typeof WORKER_QUEUES)[number];

export interface WorkerOptions {
  readonly redisUrl: string;
  /** Queues to consume (default both): e.g. dedicated minimize workers, whose jobs are heavier. */
  readonly queues?: readonly WorkerQueue[];
  /** Parallel jobs: 1 runs in this thread; N > 1 runs N worker threads, one job each. */
  readonly concurrency?: number;
  readonly timing?: LockTiming;
  readonly log?: (msg: string) => void;
  /** HOST:PORT for Prometheus `/metrics` (port 0 picks a free one); null or absent: no server. */
  readonly metrics?: string | null;
  /** The metrics address was asked for (else a taken port falls back to a free one). */
  readonly metricsExplicit?: boolean;
  /** Where metric events go (set by a worker thread: its parent); default: this process's registry. */
  readonly sink?: MetricSink;
  /** Bearer token for `/metrics`; absent: /metrics is open. */
  readonly metricsToken?: string;
}

export interface WorkerHandle {
  /** http://HOST:PORT/metrics, or null without a metrics server. */
  readonly metricsUrl: string | null;
  /** Stops taking jobs, finishes the active ones, closes every connection. */
  close(): Promise<void>;
}

/**
 * A farm worker: consumes `fuzz` and `minimize` jobs and pushes each outcome to the `results`
 * queue under an id derived from the job (so a re-run job adds nothing new). A worker that dies
 * leaves its job locked until the lock expires; another worker's stalled check then re-queues it.
 */
export async function startWorker(opts: WorkerOptions): Promise<WorkerHandle> {
  const n = opts.concurrency ?? 1;
  await checkRedisAuth(opts.redisUrl);
  let sink = opts.sink;
  let server: MetricsServer | undefined;
  if (opts.metrics) {
    const metrics = new WorkerMetrics();
    sink ??= metrics;
    server = await serveMetrics(metrics.registry, opts.metrics, { explicit: opts.metricsExplicit ?? true, log: opts.log, token: opts.metricsToken });
    // Not logged here: `racefarm worker` prints the address once, on stdout (cli/farm.ts).
  }
  let h: Omit<WorkerHandle, 'metricsUrl'>;
  try {
    h = n > 1 ? await startThreads(opts, n, sink) : await startOne(opts, sink);
  } catch (e) {
    await server?.close();
    throw e;
  }
  return {
    metricsUrl: server?.url ?? null,
    async close() {
      await h.close();
      await server?.close();
    },
  };
}

async function startOne(opts: WorkerOptions, sink: MetricSink | undefined): Promise<Omit<WorkerHandle, 'metricsUrl'>> {
  const record = (ev: WorkerMetricEvent) => sink?.record(ev);
  const log = opts.log ?? (() => {});
  const timing = opts.timing ?? lockTiming();
  const id = `${hostname()}:${process.pid}${threadId ? `/${threadId}` : ''}`;
  const redis = connectRedis(opts.redisUrl);
  const results = new Queue(QUEUES.results, { connection: redis, prefix: PREFIX, defaultJobOptions: jobOptions() });
  const workerOpts = {
    connection: redis,
    prefix: PREFIX,
    concurrency: 1,
    lockDuration: timing.lockDuration,
    stalledInterval: timing.stalledInterval,
    maxStalledCount: timing.maxStalledCount,
  };

  // Prefix jobs of exhaustive campaigns run on a simulation thread of their own (started at the
  // first one): a search is not cut into chunks, and this event loop must renew the job's lock.
  const sim = new SimThread({ maxQueued: 16, timeoutMs: 2 ** 31 - 1 });
  const want = new Set<string>(opts.queues ?? WORKER_QUEUES);
  const consumers: Worker[] = [];
  if (want.has(QUEUES.fuzz)) consumers.push(new Worker<FuzzJobData>(
    QUEUES.fuzz,
    async (job: Job<FuzzJobData>) => {
      const d = job.data;
      const state = await redis.hget(keys.campaign(d.campaign), 'state');
      if (state === null || state === 'cancelled') {
        record({ kind: 'job', queue: QUEUES.fuzz, state: 'skipped' });
        return { skipped: state ?? 'no such campaign' };
      }
      const t0 = performance.now();
      // A prefix job of an exhaustive campaign, or a seed range.
      const prefixJob = d.exhaustive ? await sim.prefixJob(d) : null;
      const explored = d.explore ? await runExploreJob(d) : null;
      const b = prefixJob ? prefixJob.batch : (explored ?? (await runFuzzRange(d)));
      const labels = { campaign: d.campaign, scenario: d.scenario.name, variant: d.variant.name, strategy: d.strategy.name };
      record({ kind: 'fuzz', labels, schedules: b.schedules, steps: b.steps, seconds: (performance.now() - t0) / 1000, ...(explored ? { programs: explored.programs } : {}) });
      const result: FuzzResult = {
        kind: 'fuzz',
        campaign: d.campaign,
        seedStart: d.seedStart,
        seedCount: d.seedCount,
        schedules: b.schedules,
        steps: b.steps,
        byOracle: b.byOracle,
        findings: b.findings,
        coverage: b.coverage ?? [],
        worker: id,
        elapsedMs: performance.now() - t0,
        ...(prefixJob ? { exhaustive: prefixJob.outcome } : {}),
        ...(explored ? { programs: explored.programs } : {}),
      };
      await results.add('fuzz', result, { jobId: fuzzResultJobId(d.campaign, d.seedStart) });
      record({ kind: 'job', queue: QUEUES.fuzz, state: 'completed' });
      return { schedules: b.schedules, steps: b.steps, findings: b.findings.length };
    },
    workerOpts,
  ));

  if (want.has(QUEUES.minimize)) consumers.push(new Worker<MinimizeJobData>(
    QUEUES.minimize,
    async (job: Job<MinimizeJobData>) => {
      const t0 = performance.now();
      const f = job.data.finding;
      const m = minimizeFinding(f);
      record({ kind: 'minimize', scenario: f.scenario.name, variant: f.variant.name, oracle: f.oracle, ok: m.ok, seconds: (performance.now() - t0) / 1000 });
      const result: MinimizedResult = {
        kind: 'minimized',
        signature: job.data.signature,
        gen: job.data.gen ?? 1,
        ok: m.ok,
        finding: m.finding,
        trace: m.trace,
        reason: m.reason,
        elapsedMs: performance.now() - t0,
      };
      await results.add('minimized', result, { jobId: minimizedResultJobId(job.data.signature, job.data.gen ?? 1) });
      record({ kind: 'job', queue: QUEUES.minimize, state: 'completed' });
      return { ok: m.ok };
    },
    workerOpts,
  ));

  for (const w of consumers) {
    w.on('error', (e) => log(`worker ${w.name}: ${e.message}`));
    w.on('failed', (job, e) => {
      record({ kind: 'job', queue: w.name, state: 'failed' });
      log(`job ${job?.id} failed: ${e.message}`);
    });
  }
  await Promise.all(consumers.map((w) => w.waitUntilReady()));

  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= (async () => {
        await Promise.all(consumers.map((w) => w.close()));
        await sim.close();
        await results.close();
        await redis.quit().catch(() => redis.disconnect());
      })();
      return closing;
    },
  };
}

/**
 * One worker thread (thread.ts). Compiled JavaScript when it can (farm/compiled.ts: installed, or a
 * checkout whose dist/ is current). Otherwise the TypeScript source: a worker thread does not
 * inherit the parent's `--import tsx` loader hooks, so the thread registers them, then loads it.
 */
function startThread(workerData: { redisUrl: string; timing: LockTiming; queues: WorkerOptions['queues'] }): ThreadWorker {
  const source = new URL('./thread.ts', import.meta.url);
  const compiled = compiledModule(source);
  const execArgv = threadExecArgv();
  if (compiled) return new ThreadWorker(compiled, { workerData, execArgv });
  const code = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(source.href)}); });`;
  return new ThreadWorker(code, { eval: true, workerData, execArgv });
}

/** N worker threads, each a one-job worker with its own connections. */
async function startThreads(opts: WorkerOptions, n: number, sink: MetricSink | undefined): Promise<Omit<WorkerHandle, 'metricsUrl'>> {
  const log = opts.log ?? (() => {});
  const threads: ThreadWorker[] = [];
  const ready: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const t = startThread({ redisUrl: opts.redisUrl, timing: opts.timing ?? lockTiming(), queues: opts.queues });
    threads.push(t);
    ready.push(
      new Promise<void>((resolve, reject) => {
        t.on('message', (m: { type: string; msg?: string; ev?: WorkerMetricEvent }) => {
          if (m.type === 'metric' && m.ev) sink?.record(m.ev);
          else if (m.type === 'ready') resolve();
          else if (m.type === 'log' && m.msg) log(`[thread ${i}] ${m.msg}`);
        });
        t.once('error', reject);
        t.once('exit', (code) => reject(new Error(`worker thread ${i} exited (${code})`)));
      }),
    );
  }
  await Promise.all(ready);
  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= (async () => {
        await Promise.all(
          threads.map(
            (t) =>
              new Promise<void>((resolve) => {
                t.once('exit', () => resolve());
                t.postMessage({ type: 'close' });
              }),
          ),
        );
      })();
      return closing;
    },
  };
}
