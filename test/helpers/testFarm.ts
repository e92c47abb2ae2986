import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { FarmClient } from '../../cli/farmClient.ts';
import { PREFIX, connectRedis } from '../../farm/config.ts';
import { QUEUES } from '../../farm/jobs.ts';
import { TestRedis } from './redis.ts';
import { startCoordinatorProc, startWorkerProc, type FarmProc } from './farm.ts';

/**
 * A real farm for one test file: its own redis-server on a free loopback port, a coordinator
 * process, a gRPC client, a Redis connection and the fuzz and minimize queues (to look at or
 * rearrange jobs). Workers are started by the test (`addWorker`), so it decides when jobs run.
 */
export class TestFarm {
  private constructor(
    readonly redis: TestRedis,
    readonly coordinator: FarmProc,
    /** The coordinator's gRPC address (HOST:PORT). */
    readonly address: string,
    readonly client: FarmClient,
    readonly conn: Redis,
    readonly fuzz: Queue,
    readonly minimize: Queue,
  ) {}

  private readonly workers: FarmProc[] = [];

  /** `env`: the coordinator's environment (limits, timings); `timeoutMs`: the client's unary deadline. */
  static async start(opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<TestFarm> {
    const redis = await TestRedis.start();
    const c = await startCoordinatorProc(redis.url, { env: opts.env });
    const conn = connectRedis(redis.url);
    const fuzz = new Queue(QUEUES.fuzz, { connection: conn, prefix: PREFIX });
    fuzz.on('error', () => {});
    const minimize = new Queue(QUEUES.minimize, { connection: conn, prefix: PREFIX });
    minimize.on('error', () => {});
    return new TestFarm(redis, c.proc, c.address, new FarmClient(c.address, { timeoutMs: opts.timeoutMs }), conn, fuzz, minimize);
  }

  async addWorker(opts: Parameters<typeof startWorkerProc>[1] = {}): Promise<FarmProc> {
    const w = await startWorkerProc(this.redis.url, opts);
    this.workers.push(w);
    return w;
  }

  /**
   * Starts workers until `n` of those started here are alive (in a `beforeEach`, so a test that
   * killed one has its full complement back for the next); returns the live ones, oldest first.
   */
  async keepWorkers(n: number): Promise<FarmProc[]> {
    const alive = () => this.workers.filter((w) => w.alive);
    while (alive().length < n) await this.addWorker();
    return alive();
  }

  /** Fuzz jobs not started yet. */
  queuedFuzzJobs(): Promise<number> {
    return this.fuzz.getJobCountByTypes('waiting', 'delayed', 'prioritized');
  }

  async stop(): Promise<void> {
    this.client.close();
    await Promise.all([this.fuzz.close(), this.minimize.close()]);
    await this.conn.quit().catch(() => this.conn.disconnect());
    await Promise.all([...this.workers, this.coordinator].map((p) => p.stop()));
    await this.redis.destroy();
  }
}
