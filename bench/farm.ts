import { availableParallelism } from 'node:os';
import { catalogEntry } from '../sim/scenario/catalog.ts';
import { compileScenario } from '../sim/scenario/compile.ts';
import { resolvePreset } from '../sim/variants/resolve.ts';
import { estimateSteps, type StrategySpec } from '../sim/schedule/strategy.ts';
import { runSeeds } from '../sim/fuzz.ts';
import { FarmClient } from '../cli/farmClient.ts';
import { TestRedis } from '../support/redisServer.ts';
import { startCoordinatorProc, startWorkerProc, until, type FarmProc } from '../support/procs.ts';

export interface FarmBenchOptions {
  readonly scenario?: string;
  readonly variant?: string;
  /** Seeds per measured campaign (the same range runs locally). */
  readonly seeds?: number;
  readonly batchSize?: number;
  /** Worker process counts to measure. */
  readonly workers?: readonly number[];
  /** An existing Redis to use; by default a private redis-server on a free port. */
  readonly redisUrl?: string;
  readonly log?: (msg: string) => void;
}

export interface FarmBenchRun {
  readonly workers: number;
  readonly elapsedMs: number;
  readonly schedulesPerSec: number;
  /** Farm rate ÷ (workers × local rate). */
  readonly efficiency: number;
  /** 1 − efficiency, in percent: everything the farm costs per worker against the local run. */
  readonly overheadPct: number;
  /** Worker time running seeds (sum over jobs, ms). */
  readonly computeMs: number;
  /**
   * 1 − computeMs ÷ (workers × elapsedMs), in percent: the share of the workers' wall time not
   * spent simulating (queue round trips, recording, waiting): the queue's own overhead, apart
   * from any difference in simulator speed between the worker processes and this one.
   */
  readonly queueOverheadPct: number;
  /** The farm's totals equal the local run's (schedules and steps). */
  readonly exact: boolean;
}

export interface FarmBenchResult {
  readonly scenario: string;
  readonly variant: string;
  readonly seeds: number;
  readonly batchSize: number;
  readonly cores: number;
  readonly local: { readonly elapsedMs: number; readonly schedulesPerSec: number; readonly steps: number };
  readonly farm: readonly FarmBenchRun[];
}

/**
 * Farm throughput: schedules/s of one campaign through Redis (coordinator + N worker processes,
 * measured from StartCampaign to `done`) against `runSeeds` over the same seeds in this process.
 * Each worker process runs one job at a time, so N workers ideally give N × the local rate; the
 * shortfall is the queue's overhead (on a machine with fewer free cores than workers + the
 * coordinator + Redis, it also measures CPU contention).
 */
export async function measureFarmThroughput(opts: FarmBenchOptions = {}): Promise<FarmBenchResult> {
  const scenario = opts.scenario ?? 'cow-two-pages';
  const variantName = opts.variant ?? 'range-end-only';
  const seeds = opts.seeds ?? 100_000;
  const batchSize = opts.batchSize ?? 5000;
  const counts = opts.workers ?? [1, 2];
  const log = opts.log ?? (() => {});
  const entry = catalogEntry(scenario);
  if (!entry) throw new Error(`unknown scenario ${scenario}`);

  const sc = compileScenario(entry.scenario);
  const variant = resolvePreset(variantName);
  const strategy: StrategySpec = { name: 'random', depth: 3, kSteps: estimateSteps(sc, variant.sites) };
  runSeeds(sc, variant, strategy, seeds, Math.min(seeds, 5000)); // warm-up (JIT), other seeds
  const t0 = performance.now();
  const localRun = runSeeds(sc, variant, strategy, 0, seeds);
  const localMs = performance.now() - t0;
  const localRate = (seeds / localMs) * 1000;
  log(`local: ${seeds} schedules in ${localMs.toFixed(0)} ms = ${localRate.toFixed(0)}/s`);

  const ownRedis = opts.redisUrl ? null : await TestRedis.start();
  const url = opts.redisUrl ?? ownRedis!.url;
  const procs: FarmProc[] = [];
  let client: FarmClient | undefined;
  const runs: FarmBenchRun[] = [];
  try {
    const c = await startCoordinatorProc(url);
    procs.push(c.proc);
    client = new FarmClient(c.address);
    const campaign = async (seedStart: number, n: number) => {
      const s = Date.now();
      const started = await client!.startCampaign({ scenario_name: scenario, variant_preset: variantName, seed_start: String(seedStart), seed_count: String(n), batch_size: batchSize });
      const done = await until(async () => {
        const v = await client!.getCampaign(started.id);
        return v.state === 'done' ? v : undefined;
      }, 600_000, `bench campaign ${started.id}`, 50);
      return { ms: Date.now() - s, done };
    };
    for (const n of counts) {
      const workers = await Promise.all(Array.from({ length: n }, () => startWorkerProc(url)));
      try {
        await campaign(seeds, Math.min(seeds, batchSize * n * 2)); // warm-up (JIT), other seeds
        const { ms, done } = await campaign(0, seeds);
        const rate = (seeds / ms) * 1000;
        const efficiency = rate / (n * localRate);
        const run = {
          workers: n,
          elapsedMs: ms,
          schedulesPerSec: rate,
          efficiency,
          overheadPct: (1 - efficiency) * 100,
          computeMs: done.computeMs,
          queueOverheadPct: (1 - done.computeMs / (n * ms)) * 100,
          exact: done.schedules === seeds && done.steps === localRun.steps,
        };
        runs.push(run);
        log(`farm, ${n} worker${n > 1 ? 's' : ''}: ${seeds} schedules in ${ms} ms = ${rate.toFixed(0)}/s (${(efficiency * 100).toFixed(1)}% of ${n} × local); workers simulating ${(100 - run.queueOverheadPct).toFixed(1)}% of the time`);
      } finally {
        await Promise.all(workers.map((w) => w.stop()));
      }
    }
  } finally {
    client?.close();
    await Promise.all(procs.map((p) => p.stop()));
    await ownRedis?.destroy();
  }
  return {
    scenario,
    variant: variantName,
    seeds,
    batchSize,
    cores: availableParallelism(),
    local: { elapsedMs: localMs, schedulesPerSec: localRate, steps: localRun.steps },
    farm: runs,
  };
}

// `node --import tsx bench/farm.ts`: print the measurement.
if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await measureFarmThroughput({ log: (m) => console.error(m) });
  console.log(JSON.stringify(r, null, 2));
}
