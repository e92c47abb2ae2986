import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { Queue, Worker, type Job } from 'bullmq';
import { PREFIX, checkRedisAuth, connectRedis, lockTiming, parseHostPort, type LockTiming } from '../farm/config.ts';
import { FarmStore } from '../farm/store.ts';
import { QUEUES, fuzzJobId, jobOptions, minimizeJobId, type FuzzJobData, type MinimizeJobData, type ResultJobData } from '../farm/jobs.ts';
import { escapeText } from '../farm/safeText.ts';
import { ranges, type CampaignSpec } from '../farm/campaign.ts';
import type { Finding } from '../sim/finding.ts';
import { FARM_SERVICE_NAME, loadProtos } from '../farm/proto.ts';
import { bearerInterceptor } from './auth.ts';
import { CoordinatorMetrics, serveMetrics, type CampaignLabels, type FarmSnapshot, type MetricsServer } from '../farm/metrics.ts';
import { farmService } from './service.ts';
import { strictService } from './strictDecode.ts';
import { SimThread } from './simThread.ts';
import { DEFAULT_LIMITS, limitsFromEnv, type FarmLimits } from '../farm/limits.ts';
import { webView } from './web/routes.ts';
import { firstFoundCounts } from './firstFound.ts';

export interface CoordinatorOptions {
  readonly redisUrl: string;
  /** HOST:PORT for gRPC (port 0 picks a free one). */
  readonly grpc: string;
  readonly token?: string;
  readonly timing?: LockTiming;
  /** Results processed in parallel (each record is one atomic Lua script). */
  readonly resultConcurrency?: number;
  readonly log?: (msg: string) => void;
  /** HOST:PORT for Prometheus `/metrics` (port 0 picks a free one); null or absent: no server. */
  readonly metrics?: string | null;
  /** The metrics address was asked for (else a taken port falls back to a free one). */
  readonly metricsExplicit?: boolean;
  /** What a client may ask (default: farm/limits.ts DEFAULT_LIMITS with the RACEFARM_MAX_* env). */
  readonly limits?: FarmLimits;
}

export interface CoordinatorHandle {
  readonly port: number;
  readonly address: string;
  /** http://HOST:PORT/metrics, or null without a metrics server. */
  readonly metricsUrl: string | null;
  readonly metrics: CoordinatorMetrics;
  close(): Promise<void>;
}

/** BullMQ's largest priority (2^21). */
const MAX_PRIORITY = 2_097_152;

/** Queue operations the service and the result consumer share. */
export class Farm {
  constructor(
    readonly store: FarmStore,
    readonly fuzz: Queue<FuzzJobData>,
    readonly minimize: Queue<MinimizeJobData>,
    readonly log: (msg: string) => void,
    readonly metrics: CoordinatorMetrics = new CoordinatorMetrics({ defaultMetrics: false }),
    /** Replays and step estimates, off the event loop. */
    readonly sim: SimThread = new SimThread(),
    readonly limits: FarmLimits = DEFAULT_LIMITS,
  ) {}

  private readonly labels = new Map<string, CampaignLabels>();

  /** A campaign's metric labels (its spec never changes: cached). */
  private async campaignLabels(id: string): Promise<CampaignLabels> {
    let l = this.labels.get(id);
    if (!l) {
      const spec = await this.store.campaignSpec(id);
      l = { campaign: id, scenario: spec?.scenario.name ?? '', variant: spec?.variant.name ?? '', strategy: spec?.strategy.name ?? '' };
      if (this.labels.size > 1000) this.labels.clear();
      if (spec) this.labels.set(id, l);
    }
    return l;
  }

  /** Adds the fuzz job of every range not yet recorded (same job ids: re-adding is a no-op). */
  async enqueueCampaign(id: string, spec: CampaignSpec): Promise<number> {
    const done = await this.store.recordedRanges(id);
    return this.enqueueRanges(id, spec, (r) => !done.has(r.start));
  }

  /** Adds the fuzz jobs of the campaign's ranges that `want` selects, then marks it enqueued. */
  async enqueueRanges(id: string, spec: CampaignSpec, want: (r: { start: number; count: number }) => boolean): Promise<number> {
    let batch: { name: string; data: FuzzJobData; opts: { jobId: string; priority: number } }[] = [];
    let n = 0;
    const flush = async () => {
      if (batch.length > 0) await this.fuzz.addBulk(batch);
      n += batch.length;
      batch = [];
    };
    let index = 0;
    for (const r of ranges(spec)) {
      // Fairness: job k of every campaign has priority k + 1 (BullMQ takes the lowest first, FIFO
      // among equals), so concurrent campaigns interleave job by job and a small campaign started
      // behind a big one runs its first jobs next instead of after all of the big one's.
      const priority = Math.min(index + 1, MAX_PRIORITY);
      index++;
      if (!want(r)) continue;
      batch.push({
        name: 'fuzz',
        data: {
          campaign: id,
          scenario: spec.scenario,
          variant: spec.variant,
          strategy: spec.strategy,
          seedStart: r.start,
          seedCount: r.count,
          maxSteps: spec.scenario.world.maxSteps,
          coverage: spec.coverage === true,
        },
        opts: { jobId: fuzzJobId(id, r.start), priority },
      });
      if (batch.length >= 1000) await flush();
    }
    await flush();
    await this.store.markEnqueued(id);
    return n;
  }

  /**
   * Jobs that failed every attempt (BullMQ's failed set): a fuzz job's range is recorded as failed
   * in its campaign (which then ends `incomplete` rather than waiting forever), a minimize job's
   * finding as `failed` with the reason (which releases the campaigns waiting on it). Each job is
   * removed once recorded, so a retry can add the same job id again; recording twice (a crash
   * between the two) changes nothing. Runs at start and then every few seconds.
   */
  async sweepFailed(): Promise<number> {
    let n = 0;
    for (const job of await this.fuzz.getFailed(0, 499)) {
      // The job id is the authority (`<campaign>_<seedStart>`): the data may be what broke it.
      const jid = String(job.id ?? '');
      const cut = jid.lastIndexOf('_');
      const campaign = jid.slice(0, cut);
      const seedStart = Number(jid.slice(cut + 1));
      const spec = cut > 0 && Number.isSafeInteger(seedStart) ? await this.store.campaignSpec(campaign) : null;
      if (spec) {
        const seedCount = Math.min(spec.batchSize, spec.seedStart + spec.seedCount - seedStart);
        const error = escapeText(`${job.failedReason || 'failed'} (after ${job.attemptsMade} attempts)`, 500);
        if (await this.store.recordFailedRange(campaign, { seedStart, seedCount, error })) {
          this.log(`campaign ${campaign}: seeds [${seedStart}, ${seedStart + seedCount}) failed for good: ${error}`);
          n++;
        }
      }
      await job.remove().catch(() => {});
    }
    for (const job of await this.minimize.getFailed(0, 499)) {
      const sig = String(job.id ?? '').replace(/^m_/, '');
      const reason = escapeText(`minimize job failed after ${job.attemptsMade} attempts: ${job.failedReason || 'failed'}`, 500);
      if (/^[0-9a-f]{1,64}$/.test(sig)) {
        await this.store.recordMinimized({ kind: 'minimized', signature: sig, ok: false, finding: null, trace: '', reason, elapsedMs: 0 });
        this.log(`finding ${sig}: ${reason}`);
        n++;
      }
      await job.remove().catch(() => {});
    }
    return n;
  }

  /**
   * `campaign retry`: re-enqueues the ranges that failed for good. Idempotent: the ranges are taken
   * atomically (a second retry finds none), a range counts once when recorded, and a stale failed
   * job is removed before its id is added again.
   */
  async retryCampaign(id: string): Promise<{ state: string; retried: number } | null> {
    const t = await this.store.takeFailedRanges(id);
    if (!t) return null;
    if (t.starts.length === 0) return { state: t.state, retried: 0 };
    const spec = await this.store.campaignSpec(id);
    if (!spec) return { state: t.state, retried: 0 };
    const want = new Set(t.starts);
    for (const s of t.starts) {
      const job = await this.fuzz.getJob(fuzzJobId(id, s));
      if (job && (await job.isFailed())) await job.remove().catch(() => {});
    }
    const n = await this.enqueueRanges(id, spec, (r) => want.has(r.start));
    this.log(`campaign ${id}: retrying ${n} failed ranges`);
    return { state: t.state, retried: n };
  }

  private readonly purging = new Map<string, Promise<number>>();

  /**
   * Removes the waiting fuzz jobs of a cancelled campaign in the background (CancelCampaign answers
   * at once; workers skip a cancelled campaign's jobs meanwhile). Fuzz jobs sit in BullMQ's
   * prioritized set (see enqueueRanges), where removing one is O(log n), and removals go 500 at a
   * time, so this is linear in the campaign's jobs. `purged` marks the end; a restarted coordinator
   * finishes an interrupted purge.
   */
  purgeCancelled(id: string): Promise<number> {
    let p = this.purging.get(id);
    if (!p) {
      p = (async () => {
        const t0 = Date.now();
        const spec = await this.store.campaignSpec(id);
        if (!spec) return 0;
        const done = await this.store.recordedRanges(id);
        let removed = 0;
        let ids: string[] = [];
        const flush = async () => {
          const rs = await Promise.all(ids.map((j) => this.fuzz.remove(j).catch(() => 0)));
          removed += rs.reduce((a: number, b) => a + (b ? 1 : 0), 0);
          ids = [];
        };
        for (const r of ranges(spec)) {
          if (done.has(r.start)) continue;
          ids.push(fuzzJobId(id, r.start));
          if (ids.length >= 500) await flush();
        }
        await flush();
        await this.store.markPurged(id);
        this.log(`campaign ${id} cancelled: removed ${removed} waiting jobs in ${Date.now() - t0} ms`);
        return removed;
      })().finally(() => this.purging.delete(id));
      p.catch((e) => this.log(`campaign ${id}: removing its jobs failed: ${(e as Error).message}`));
      this.purging.set(id, p);
    }
    return p;
  }

  async enqueueMinimize(sig: string, finding: Finding, campaign: string): Promise<void> {
    await this.minimize.add('minimize', { signature: sig, finding }, { jobId: minimizeJobId(sig) });
    // new → queued happens once per signature: count it as new to the farm then.
    if (await this.store.markQueued(sig)) {
      this.metrics.newSignature({ campaign, scenario: finding.scenario.name, variant: finding.variant.name }, finding.oracle);
    }
  }

  async consume(data: ResultJobData): Promise<void> {
    if (data.kind === 'fuzz') {
      const r = await this.store.recordFuzz(data);
      if (r.recorded) this.metrics.fuzzRecorded(await this.campaignLabels(data.campaign), data);
      for (const sig of r.newSignatures) {
        const f = data.findings.find((x) => x.signature === sig)!;
        await this.enqueueMinimize(sig, f, data.campaign);
      }
    } else {
      await this.store.recordMinimized(data);
    }
  }

  /** After a restart: finish enqueueing half-enqueued campaigns, queue minimize jobs left unqueued. */
  async resume(): Promise<void> {
    for (const id of await this.store.activeCampaigns()) {
      if ((await this.store.campaignField(id, 'enqueued')) === '1') continue;
      const spec = await this.store.campaignSpec(id);
      if (spec) this.log(`resuming campaign ${id}: enqueued ${await this.enqueueCampaign(id, spec)} jobs`);
    }
    for (const sig of await this.store.unqueuedFindings()) {
      const rec = await this.store.getFinding(sig);
      if (rec) await this.enqueueMinimize(sig, rec.raw, rec.summary.campaign);
    }
    for (const id of await this.store.unpurgedCancelled()) void this.purgeCancelled(id);
    await this.sweepFailed();
  }
}

/**
 * The coordinator: the Farm gRPC service and the health service, plus a BullMQ worker on the
 * `results` queue that records fuzz batches and minimized findings. All state is in Redis, so a
 * restarted coordinator (or a second one) carries on; a result being recorded when a coordinator
 * dies is re-delivered by BullMQ's stalled-job check and recorded once.
 */
export async function startCoordinator(opts: CoordinatorOptions): Promise<CoordinatorHandle> {
  const log = opts.log ?? (() => {});
  const timing = opts.timing ?? lockTiming();
  const { host, port } = parseHostPort(opts.grpc, '--grpc');
  await checkRedisAuth(opts.redisUrl);
  const redis = connectRedis(opts.redisUrl);
  const store = new FarmStore(redis);
  const fuzz = new Queue<FuzzJobData>(QUEUES.fuzz, { connection: redis, prefix: PREFIX, defaultJobOptions: jobOptions() });
  const minimize = new Queue<MinimizeJobData>(QUEUES.minimize, { connection: redis, prefix: PREFIX, defaultJobOptions: jobOptions() });
  const resultsQueue = new Queue(QUEUES.results, { connection: redis, prefix: PREFIX });
  const metrics = new CoordinatorMetrics({
    // Read when Prometheus scrapes: recent campaigns and every queue's job counts.
    snapshot: async (): Promise<FarmSnapshot> => {
      if (redis.status !== 'ready') throw new Error(`redis ${redis.status}`);
      const [views, first, f, m, r] = await Promise.all([store.listCampaigns(50), firstFoundCounts(redis), fuzz.getJobCounts(), minimize.getJobCounts(), resultsQueue.getJobCounts()]);
      const campaigns = views.map((c) => ({ ...c, firstSignatures: first.get(c.id) ?? 0 }));
      return { campaigns, queues: { [QUEUES.fuzz]: f, [QUEUES.minimize]: m, [QUEUES.results]: r } };
    },
  });
  const farm = new Farm(store, fuzz, minimize, log, metrics, new SimThread(), opts.limits ?? limitsFromEnv());

  const health = new HealthImplementation({ '': 'NOT_SERVING', [FARM_SERVICE_NAME]: 'NOT_SERVING' });
  const setHealth = (s: 'SERVING' | 'NOT_SERVING') => {
    health.setStatus('', s);
    health.setStatus(FARM_SERVICE_NAME, s);
  };
  redis.on('ready', () => setHealth('SERVING'));
  redis.on('close', () => setHealth('NOT_SERVING'));
  await Promise.all([fuzz.waitUntilReady(), minimize.waitUntilReady(), resultsQueue.waitUntilReady()]);
  if (redis.status === 'ready') setHealth('SERVING');

  const results = new Worker<ResultJobData>(QUEUES.results, async (job: Job<ResultJobData>) => farm.consume(job.data), {
    connection: redis,
    prefix: PREFIX,
    concurrency: opts.resultConcurrency ?? 4,
    lockDuration: timing.lockDuration,
    stalledInterval: timing.stalledInterval,
    maxStalledCount: timing.maxStalledCount,
  });
  results.on('error', (e) => log(`results worker: ${e.message}`));
  results.on('failed', (job, e) => log(`result ${job?.id} failed: ${e.message}`));
  await results.waitUntilReady();

  // Jobs that fail for good end their campaign (or finding) instead of stranding it.
  const sweepMs = Number(process.env.RACEFARM_SWEEP_MS) > 0 ? Number(process.env.RACEFARM_SWEEP_MS) : 2000;
  let sweeping = false;
  const sweeper = setInterval(() => {
    if (sweeping || redis.status !== 'ready') return;
    sweeping = true;
    farm
      .sweepFailed()
      .catch((e) => log(`sweep of failed jobs: ${(e as Error).message}`))
      .finally(() => (sweeping = false));
  }, sweepMs);
  sweeper.unref();

  const server = new grpc.Server({ interceptors: opts.token ? [bearerInterceptor(opts.token)] : [] });
  const { farm: farmCtor } = loadProtos();
  const svc = farmService(farm);
  server.addService(strictService(farmCtor.service), svc.handlers);
  health.addToServer(server);
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  const address = `${host}:${bound}`;
  log(`coordinator listening on ${address}`);
  // Finishing what a previous coordinator left (half-enqueued campaigns, unqueued findings, failed
  // jobs) happens while gRPC already serves: a retried StartCampaign finds its campaign at once.
  const resumed = farm.resume().catch((e) => log(`resume: ${(e as Error).message}`));
  let metricsServer: MetricsServer | undefined;
  if (opts.metrics) {
    try {
      metricsServer = await serveMetrics(metrics.registry, opts.metrics, {
        explicit: opts.metricsExplicit ?? true,
        health: () => redis.status === 'ready',
        // The findings web view shares the listener (coordinator/web/routes.ts), behind the gRPC token.
        web: webView(store, opts.token),
        log,
      });
    } catch (e) {
      server.forceShutdown();
      await results.close();
      await Promise.all([fuzz.close(), minimize.close(), resultsQueue.close()]);
      await redis.quit().catch(() => redis.disconnect());
      throw e;
    }
    log(`coordinator metrics on ${metricsServer.url}`);
    log(`coordinator web view on ${metricsServer.url.replace(/\/metrics$/, '/')}`);
  }

  let closing: Promise<void> | undefined;
  return {
    port: bound,
    address,
    metricsUrl: metricsServer?.url ?? null,
    metrics,
    close() {
      closing ??= (async () => {
        clearInterval(sweeper);
        await resumed;
        await farm.sim.close();
        await metricsServer?.close();
        svc.stop();
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, 2000);
          server.tryShutdown(() => {
            clearTimeout(t);
            resolve();
          });
        });
        await results.close();
        await Promise.all([fuzz.close(), minimize.close(), resultsQueue.close()]);
        await redis.quit().catch(() => redis.disconnect());
      })();
      return closing;
    },
  };
}
