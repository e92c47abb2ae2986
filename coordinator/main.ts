import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { Queue, Worker, type Job } from 'bullmq';
import { PREFIX, checkRedisAuth, connectRedis, isLoopbackHost, lockTiming, parseHostPort, type LockTiming } from '../farm/config.ts';
import { FarmStore } from '../farm/store.ts';
import { QUEUES, envCount, jobOptions, type FuzzJobData, type MinimizeJobData, type ResultJobData } from '../farm/jobs.ts';
import { FARM_SERVICE_NAME, loadProtos } from '../farm/proto.ts';
import { bearerInterceptor } from './auth.ts';
import { CoordinatorMetrics, serveMetrics, type FarmSnapshot, type MetricsServer } from '../farm/metrics.ts';
import { farmService } from './service.ts';
import { strictService } from './strictDecode.ts';
import { SimThread } from './simThread.ts';
import { DEFAULT_LIMITS, limitsFromEnv, type FarmLimits } from '../farm/limits.ts';
import { webView } from './web/routes.ts';
import { firstFoundCounts } from './firstFound.ts';
import { Farm } from './farm.ts';

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
  /** Serve gRPC over TLS with this certificate chain and key (PEM); absent: plaintext. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  /** Bearer token for `/metrics` (the web view uses `token`); absent: /metrics is open. */
  readonly metricsToken?: string;
}

export interface CoordinatorHandle {
  readonly port: number;
  readonly address: string;
  /** http://HOST:PORT/metrics, or null without a metrics server. */
  readonly metricsUrl: string | null;
  readonly metrics: CoordinatorMetrics;
  close(): Promise<void>;
}

function serverCredentials(tls: CoordinatorOptions['tls']): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(null, [{ cert_chain: tls.cert, private_key: tls.key }], false);
}

/**
 * What the operator should know about how exposed the coordinator is: gRPC reachable from other
 * machines with no token and no TLS lets anyone start and cancel campaigns; a token without TLS
 * crosses the network in clear.
 */
export function exposureWarnings(host: string, opts: Pick<CoordinatorOptions, 'token' | 'tls'>): string[] {
  if (isLoopbackHost(host)) return [];
  if (!opts.token && !opts.tls) return [`gRPC on ${host} (not loopback) has no --token and no TLS: anyone who can reach it can start, cancel and read campaigns`];
  if (!opts.tls) return [`gRPC on ${host} (not loopback) has no TLS: the bearer token and all requests cross the network in clear (--tls-cert, --tls-key)`];
  if (!opts.token) return [`gRPC on ${host} (not loopback) has TLS but no --token: any client that trusts the certificate can start and cancel campaigns`];
  return [];
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
  const farm = new Farm(store, fuzz, minimize, log, metrics, new SimThread({ timeoutMs: envCount('RACEFARM_SIM_TIMEOUT_MS', 60_000, 1) }), opts.limits ?? limitsFromEnv());

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
    server.bindAsync(`${host}:${port}`, serverCredentials(opts.tls), (e, p) => (e ? reject(e) : resolve(p))),
  );
  const address = `${host}:${bound}`;
  // The addresses are not logged here: `racefarm coordinator` prints each once, on stdout (cli/farm.ts).
  for (const w of exposureWarnings(host, opts)) log(`warning: ${w}`);
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
        web: webView(store, opts.token, farm.sim),
        log,
        token: opts.metricsToken,
      });
    } catch (e) {
      server.forceShutdown();
      await results.close();
      await Promise.all([fuzz.close(), minimize.close(), resultsQueue.close()]);
      await redis.quit().catch(() => redis.disconnect());
      throw e;
    }
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
        await farm.stopEnqueues();
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
