import { FarmClient } from '../cli/farmClient.ts';
import { TestRedis } from '../support/redisServer.ts';
import { startCoordinatorProc, startWorkerProc, until, type FarmProc } from '../support/procs.ts';

export interface FairnessResult {
  readonly bigSeeds: number;
  readonly smallSeeds: number;
  readonly workers: number;
  /** From the small campaign's StartCampaign to its `done`. */
  readonly smallDoneMs: number;
  /** How many of the big campaign's jobs were done when the small one finished. */
  readonly bigJobsDoneAtSmallDone: number;
  readonly bigJobsTotal: number;
}

/**
 * Fairness: a small campaign started behind a big one. One worker; the big campaign (many
 * 1,000-seed jobs) runs for `headStartMs`, then a one-job campaign starts; the figure is the time
 * until the small one is `done`. Jobs carry BullMQ priority k+1 for the k-th job of each campaign
 * (farm/jobs.ts), so the small campaign's job 0 goes before the big one's remaining jobs.
 */
export async function measureFairness(opts: { bigSeeds?: number; smallSeeds?: number; headStartMs?: number; workers?: number; log?: (m: string) => void } = {}): Promise<FairnessResult> {
  const bigSeeds = opts.bigSeeds ?? 2_000_000;
  const smallSeeds = opts.smallSeeds ?? 1_000;
  const workers = opts.workers ?? 1;
  const log = opts.log ?? (() => {});
  const redis = await TestRedis.start();
  const procs: FarmProc[] = [];
  let client: FarmClient | undefined;
  try {
    const c = await startCoordinatorProc(redis.url);
    procs.push(c.proc);
    for (let i = 0; i < workers; i++) procs.push(await startWorkerProc(redis.url));
    client = new FarmClient(c.address);
    const big = await client.startCampaign({ name: 'big', scenario_name: 'cow-two-pages', variant_preset: 'v4.13', strategy: 'random', seed_start: '0', seed_count: String(bigSeeds), batch_size: 1000 });
    await until(async () => (await client!.getCampaign(big.id)).jobsDone >= 2, 120_000, 'the big campaign running');
    await new Promise((r) => setTimeout(r, opts.headStartMs ?? 3000));
    const t0 = Date.now();
    const small = await client.startCampaign({ name: 'small', scenario_name: 'cow-two-pages', variant_preset: 'v4.13', strategy: 'random', seed_start: '0', seed_count: String(smallSeeds), batch_size: 1000 });
    await until(async () => (await client!.getCampaign(small.id)).state === 'done', 300_000, 'the small campaign done', 20);
    const smallDoneMs = Date.now() - t0;
    const b = await client.getCampaign(big.id);
    log(`small campaign (${smallSeeds} seeds) done ${smallDoneMs} ms after its start; big: ${b.jobsDone}/${b.jobsTotal} jobs`);
    await client.cancelCampaign(big.id);
    return { bigSeeds, smallSeeds, workers, smallDoneMs, bigJobsDoneAtSmallDone: b.jobsDone, bigJobsTotal: b.jobsTotal };
  } finally {
    client?.close();
    await Promise.all(procs.map((p) => p.stop()));
    await redis.destroy();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await measureFairness({ log: (m) => console.log(m) });
  console.log(JSON.stringify(r));
}
