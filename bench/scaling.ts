import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { catalogEntry } from '../sim/scenario/catalog.ts';
import { compileScenario } from '../sim/scenario/compile.ts';
import { PRESETS } from '../sim/variants/presets.ts';
import { estimateSteps, type StrategySpec } from '../sim/schedule/strategy.ts';
import { fuzzWorkerEntry, runLocalCampaign } from '../cli/campaign.ts';
import type { FromWorker, ToWorker, WorkerInit } from '../cli/protocol.ts';
import { compiledModule, packagePath, threadExecArgv } from '../farm/compiled.ts';

export interface LocalScalingRun {
  /** Worker threads; 1 = runLocalCampaign's in-process path (what `fuzz --workers 1` does). */
  workers: number;
  seeds: number;
  elapsedMs: number;
  schedulesPerSec: number;
  /** Rate ÷ (workers × the 1-worker rate). */
  efficiency: number;
  /**
   * Worker threads only: wall time of a campaign of one seed per thread (starting the threads,
   * loading their code, compiling the scenario, one run each), and the rate with that start-up taken off the wall time.
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
  /** What the campaign's worker threads ran: dist/cli/fuzzWorker.js, or the sources through tsx. */
  workerEntry: 'compiled' | 'tsx';
  /** 1-minute load average before and after the scaling runs (the machine is shared). */
  loadAverage: { start: number; end: number };
  /** One fuzz worker thread's start-up, compiled against tsx (measureThreadStart). */
  threadStart: ThreadStart;
}

export interface ThreadStart {
  /** Threads started per entry (one at a time); the figures are medians. */
  samples: number;
  /** dist/cli/fuzzWorker.js: ms from `new Worker` to the result of a one-seed chunk; null if dist/ is not current. */
  compiledMs: number | null;
  /** cli/fuzzWorker.mjs (registers tsx, transpiles the sources in the thread); null without the sources. */
  tsxMs: number | null;
}

/**
 * Worker-thread start-up: wall time from `new Worker` to the first result of a one-seed chunk of
 * the `npm run fuzz` campaign (the thread loads its entry and every module it imports, compiles
 * the scenario, runs one schedule), for the compiled entry and for the tsx one, `samples` threads
 * each, one at a time, alternating so that a load change hits both alike.
 */
export async function measureThreadStart(samples = 5): Promise<ThreadStart> {
  const entry = catalogEntry('cow-two-pages')!;
  const sc = compileScenario(entry.scenario);
  const variant = PRESETS.get(entry.buggyVariant)!;
  // What cli/campaign.ts sends a fuzz thread: the scenario compiled in the parent.
  const init: WorkerInit = { scenario: sc.source, compiled: sc, variant, strategy: { name: 'random', depth: 3, kSteps: estimateSteps(sc, variant.sites) }, coverage: false };
  const compiled = compiledModule(packageUrl('cli', 'fuzzWorker.ts'));
  const tsx = existsSync(packagePath('cli', 'fuzzWorker.mjs')) ? packageUrl('cli', 'fuzzWorker.mjs') : undefined;
  const once = (url: URL): Promise<number> =>
    new Promise((resolve, reject) => {
      const t0 = performance.now();
      const w = new Worker(url, { workerData: init, execArgv: threadExecArgv() });
      w.once('error', reject);
      w.on('message', (m: FromWorker) => {
        if (m.type !== 'result') return;
        const ms = performance.now() - t0;
        void w.terminate().then(() => resolve(ms));
      });
      w.postMessage({ type: 'run', chunk: { index: 0, seedStart: 0, count: 1 } } satisfies ToWorker);
    });
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < samples; i++) {
    if (compiled) a.push(await once(compiled));
    if (tsx) b.push(await once(tsx));
  }
  const median = (xs: number[]): number | null => (xs.length === 0 ? null : [...xs].sort((x, y) => x - y)[xs.length >> 1]);
  return { samples, compiledMs: median(a), tsxMs: median(b) };
}

const packageUrl = (...parts: string[]): URL => pathToFileURL(packagePath(...parts));

/**
 * Local scaling (figure 3): one campaign (random strategy, cow-two-pages under range-end-only, the
 * `npm run fuzz` workload) through cli/campaign.ts runLocalCampaign with 1 and 2 workers, wall time
 * from the call to the merged result — so the 2-thread figure includes starting the threads (each
 * loads its entry — compiled JavaScript when dist/ is current, else the sources through tsx — and
 * compiles the scenario) and their JIT warm-up, as a real `fuzz --workers 2` pays.
 */
export async function measureLocalScaling(seeds: number, workers: readonly number[] = [1, 2]): Promise<LocalScaling> {
  const load0 = loadavg()[0];
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
  const loadAverage = { start: load0, end: loadavg()[0] };
  return {
    scenario: sc.name,
    variant: variant.name,
    strategy: 'random',
    cores: availableParallelism(),
    runs,
    sameResult: new Set(totals).size === 1,
    workerEntry: fuzzWorkerEntry().compiled ? 'compiled' : 'tsx',
    loadAverage,
    threadStart: await measureThreadStart(),
  };
}

export type FarmScaling =
  | ({ available: true } & Record<string, unknown>)
  | { available: false; reason: string };

/**
 * Farm throughput (figure 3, through Redis): bench/farm.ts's measureFarmThroughput (another part of
 * the project), loaded dynamically so that a checkout without it, or a machine where it fails (no
 * redis-server), still gets every other figure; then the result says why it is missing.
 */
export async function measureFarmScaling(seeds: number, redisUrl?: string): Promise<FarmScaling> {
  // bench/farm.ts, or dist/bench/farm.js when this file runs compiled (a bench task process).
  const url = new URL(import.meta.url.endsWith('.js') ? './farm.js' : './farm.ts', import.meta.url);
  const file = fileURLToPath(url);
  if (!existsSync(file)) return { available: false, reason: 'bench/farm.ts is not in this checkout' };
  try {
    // By URL, not a static specifier: this file must type-check and load without farm/.
    const mod = (await import(url.href)) as Record<string, unknown>;
    const fn = mod.measureFarmThroughput;
    if (typeof fn !== 'function') return { available: false, reason: 'bench/farm.ts does not export measureFarmThroughput' };
    const measure = fn as (o: unknown) => Promise<Record<string, unknown>>;
    const opts: Record<string, unknown> = { seeds, workers: [1, 2], log: (m: string) => process.stderr.write(`  farm: ${m}\n`) };
    if (redisUrl !== undefined) opts.redisUrl = redisUrl;
    try {
      // By default bench/farm.ts starts a private redis-server on a free port (no interference
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
