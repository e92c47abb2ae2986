import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { catalogEntry } from '../sim/scenario/catalog.ts';
import { compileScenario } from '../sim/scenario/compile.ts';
import { PRESETS } from '../sim/variants/presets.ts';
import { estimateSteps, type StrategySpec } from '../sim/schedule/strategy.ts';
import { runLocalCampaign } from '../cli/campaign.ts';

export interface LocalScalingRun {
  /** Worker threads; 1 = runLocalCampaign's in-process path (what `fuzz --workers 1` does). */
  workers: number;
  seeds: number;
  elapsedMs: number;
  schedulesPerSec: number;
  /** Rate ÷ (workers × the 1-worker rate). */
  efficiency: number;
  /**
   * Worker threads only: wall time of a campaign of one seed per thread (starting the threads, tsx,
   * compiling the scenario, one run each), and the rate with that start-up taken off the wall time.
   */
  startupMs?: number;
  schedulesPerSecAfterStartup?: number;
}

export interface LocalScaling {
  scenario: string;
  variant: string;
  strategy: string;
  cores: number;
  runs: LocalScalingRun[];
  /** Both runs found the same schedules and steps (the result does not depend on --workers). */
  sameResult: boolean;
}

/**
 * Local scaling (figure 3): one campaign (random strategy, cow-two-pages under range-end-only, the
 * `npm run fuzz` workload) through cli/campaign.ts runLocalCampaign with 1 and 2 workers, wall time
 * from the call to the merged result — so the 2-thread figure includes starting the threads (each
 * registers tsx and compiles the scenario) and their JIT warm-up, as a real `fuzz --workers 2` pays.
 */
export async function measureLocalScaling(seeds: number, workers: readonly number[] = [1, 2]): Promise<LocalScaling> {
  const entry = catalogEntry('cow-two-pages')!;
  const sc = compileScenario(entry.scenario);
  const variant = PRESETS.get(entry.buggyVariant)!;
  const strategy: StrategySpec = { name: 'random', depth: 3, kSteps: estimateSteps(sc, variant.sites) };
  // Plain fuzzing (no coverage collection): the throughput `fuzz` gets.
  const base = { scenario: sc.source, variant, strategy, coverage: false };
  await runLocalCampaign({ ...base, seedStart: 50_000_000, seeds: Math.min(seeds, 6000), workers: 1 }); // warm-up (JIT) in this thread
  const runs: LocalScalingRun[] = [];
  const totals: string[] = [];
  for (const n of workers) {
    let startupMs: number | undefined;
    if (n > 1) {
      const s0 = performance.now();
      await runLocalCampaign({ ...base, seedStart: 60_000_000, seeds: n, workers: n, chunkSeeds: 1 });
      startupMs = performance.now() - s0;
    }
    const t0 = performance.now();
    const r = await runLocalCampaign({ ...base, seedStart: 0, seeds, workers: n });
    const ms = performance.now() - t0;
    totals.push(`${r.schedules}/${r.steps}`);
    const rate = (seeds / ms) * 1000;
    const run: LocalScalingRun = { workers: n, seeds, elapsedMs: ms, schedulesPerSec: rate, efficiency: runs.length === 0 ? 1 : rate / (n * runs[0].schedulesPerSec) };
    if (startupMs !== undefined) {
      run.startupMs = startupMs;
      run.schedulesPerSecAfterStartup = ms > startupMs ? (seeds / (ms - startupMs)) * 1000 : rate;
    }
    runs.push(run);
  }
  const { availableParallelism } = await import('node:os');
  return { scenario: sc.name, variant: variant.name, strategy: 'random', cores: availableParallelism(), runs, sameResult: new Set(totals).size === 1 };
}

export type FarmScaling =
  | ({ available: true } & Record<string, unknown>)
  | { available: false; reason: string };

/**
 * Farm throughput (figure 3, through Redis): farm/bench.ts's measureFarmThroughput (another part of
 * the project), loaded dynamically so that a checkout without it, or a machine where it fails (no
 * redis-server), still gets every other figure; then the result says why it is missing.
 */
export async function measureFarmScaling(seeds: number, redisUrl?: string): Promise<FarmScaling> {
  const file = fileURLToPath(new URL('../farm/bench.ts', import.meta.url));
  if (!existsSync(file)) return { available: false, reason: 'farm/bench.ts is not in this checkout' };
  try {
    // By URL, not a static specifier: this file must type-check and load without farm/.
    const mod = (await import(new URL('../farm/bench.ts', import.meta.url).href)) as Record<string, unknown>;
    const fn = mod.measureFarmThroughput;
    if (typeof fn !== 'function') return { available: false, reason: 'farm/bench.ts does not export measureFarmThroughput' };
    const measure = fn as (o: unknown) => Promise<Record<string, unknown>>;
    const opts: Record<string, unknown> = { seeds, workers: [1, 2], log: (m: string) => process.stderr.write(`  farm: ${m}\n`) };
    if (redisUrl !== undefined) opts.redisUrl = redisUrl;
    try {
      // By default farm/bench.ts starts a private redis-server on a free port (no interference
      // with anyone's queues on the shared one).
      return { available: true, redis: redisUrl ?? 'private redis-server', ...((await measure(opts)) ?? {}) };
    } catch (e) {
      if (redisUrl !== undefined || !(await answers(6379))) throw e;
      // No redis-server binary here, but the machine's Redis answers: use it.
      const first = e instanceof Error ? e.message.split('\n')[0] : String(e);
      const r = (await measure({ ...opts, redisUrl: SHARED_REDIS })) ?? {};
      return { available: true, redis: SHARED_REDIS, note: `private redis-server failed (${first})`, ...r };
    }
  } catch (e) {
    return { available: false, reason: e instanceof Error ? e.message.split('\n')[0] : String(e) };
  }
}

const SHARED_REDIS = 'redis://127.0.0.1:6379';

/** Something accepts TCP connections on 127.0.0.1:port within a second. */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}
