import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { Queue, Worker, type Job } from 'bullmq';
import { PREFIX, connectRedis, lockTiming, parseHostPort, type LockTiming } from '../farm/config.ts';
import { FarmStore } from '../farm/store.ts';
import { JOB_OPTIONS, QUEUES, fuzzJobId, minimizeJobId, type FuzzJobData, type ResultJobData } from '../farm/jobs.ts';
import { ranges, type CampaignSpec } from '../farm/campaign.ts';
import type { Finding } from '../sim/finding.ts';
import { FARM_SERVICE_NAME, loadProtos } from '../farm/proto.ts';
import { bearerInterceptor } from './auth.ts';
import { CoordinatorMetrics, serveMetrics, type CampaignLabels, type FarmSnapshot, type MetricsServer } from '../farm/metrics.ts';
import { farmService } from './service.ts';
import { strictService } from './strictDecode.ts';
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
}

export interface CoordinatorHandle {
  readonly port: number;
  readonly address: string;
  /** http://HOST:PORT/metrics, or null without a metrics server. */
  readonly metricsUrl: string | null;
  readonly metrics: CoordinatorMetrics;
  close(): Promise<void>;
}

/** Queue operations the service and the result consumer share. */
export class Farm {
  constructor(
    readonly store: FarmStore,
    readonly fuzz: Queue<FuzzJobData>,
    readonly minimize: Queue,
    readonly log: (msg: string) => void,
    readonly metrics: CoordinatorMetrics = new CoordinatorMetrics({ defaultMetrics: false }),
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
    let batch: { name: string; data: FuzzJobData; opts: { jobId: string } }[] = [];
    let n = 0;
    const flush = async () => {
      if (batch.length > 0) await this.fuzz.addBulk(batch);
      n += batch.length;
      batch = [];
    };
    for (const r of ranges(spec)) {
      if (done.has(r.start)) continue;
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
        opts: { jobId: fuzzJobId(id, r.start) },
      });
      if (batch.length >= 1000) await flush();
    }
    await flush();
    await this.store.markEnqueued(id);
    return n;
  }

  /** Removes the waiting fuzz jobs of a campaign (active ones finish; workers skip cancelled ones). */
  async removeWaiting(id: string, spec: CampaignSpec): Promise<number> {
    const done = await this.store.recordedRanges(id);
    const ids: string[] = [];
    for (const r of ranges(spec)) if (!done.has(r.start)) ids.push(fuzzJobId(id, r.start));
    let removed = 0;
    for (let i = 0; i < ids.length; i += 200) {
      const rs = await Promise.all(ids.slice(i, i + 200).map((j) => this.fuzz.remove(j).catch(() => 0)));
      removed += rs.reduce((a: number, b) => a + (b ? 1 : 0), 0);
    }
    return removed;
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
  const redis = connectRedis(opts.redisUrl);
  const store = new FarmStore(redis);
  const fuzz = new Queue<FuzzJobData>(QUEUES.fuzz, { connection: redis, prefix: PREFIX, defaultJobOptions: JOB_OPTIONS });
  const minimize = new Queue(QUEUES.minimize, { connection: redis, prefix: PREFIX, defaultJobOptions: JOB_OPTIONS });
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
  const farm = new Farm(store, fuzz, minimize, log, metrics);

  const health = new HealthImplementation({ '': 'NOT_SERVING', [FARM_SERVICE_NAME]: 'NOT_SERVING' });
  const setHealth = (s: 'SERVING' | 'NOT_SERVING') => {
    health.setStatus('', s);
    health.setStatus(FARM_SERVICE_NAME, s);
  };
  redis.on('ready', () => setHealth('SERVING'));
  redis.on('close', () => setHealth('NOT_SERVING'));
  await Promise.all([fuzz.waitUntilReady(), minimize.waitUntilReady(), resultsQueue.waitUntilReady()]);
  if (redis.status === 'ready') setHealth('SERVING');

  await farm.resume();

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
