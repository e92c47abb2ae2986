import { readFileSync } from 'node:fs';
import { FarmClient } from '../cli/farmClient.ts';
import { TestRedis } from '../support/redisServer.ts';
import { startCoordinatorProc, startWorkerProc, until, type FarmProc } from '../support/procs.ts';
import { livelockScenario } from '../test/helpers/livelock.ts';

export interface LivelockRssResult {
  readonly maxSteps: number;
  readonly campaignMs: number;
  readonly state: string;
  readonly coordinatorPeakMiB: number;
  readonly workerPeakMiB: number;
  readonly getFindingMs: number;
  readonly traceChars: number;
}

/** Peak resident set of a process so far (VmHWM in /proc/PID/status), in MiB. */
function peakMiB(p: FarmProc): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.child.pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : -1;
}

/**
 * Issue 15's livelock figure: the 8-device smmu-upgrade-livelock at maxSteps 1e6 (seed 200 runs into
 * the step budget) on a real redis-server, coordinator and one worker; the campaign must end, and
 * GetFinding must answer with a bounded trace. Reports the peak RSS of both processes.
 * Run: `node --import tsx bench/livelockRss.ts [maxSteps]`.
 */
export async function measureLivelockRss(maxSteps = 1_000_000): Promise<LivelockRssResult> {
  const redis = await TestRedis.start();
  const procs: FarmProc[] = [];
  let client: FarmClient | undefined;
  try {
    const c = await startCoordinatorProc(redis.url);
    procs.push(c.proc);
    const worker = await startWorkerProc(redis.url);
    procs.push(worker);
    client = new FarmClient(c.address);
    const t0 = Date.now();
    const started = await client.startCampaign({ scenario_json: JSON.stringify(livelockScenario(maxSteps)), variant_preset: 'v4.15', seed_start: '200', seed_count: '1', batch_size: 1 });
    const done = await until(async () => {
      const v = await client!.getCampaign(started.id);
      return v.state !== 'running' && v.state !== 'pending' ? v : undefined;
    }, 600_000, 'the livelock campaign ends', 200);
    const campaignMs = Date.now() - t0;
    const findings = await client.listFindings(started.id);
    const budget = findings.find((f) => f.oracle === 'step-budget');
    const t1 = Date.now();
    const d = budget ? await client.getFinding(budget.signature) : null;
    const getFindingMs = Date.now() - t1;
    return { maxSteps, campaignMs, state: done.state, coordinatorPeakMiB: peakMiB(c.proc), workerPeakMiB: peakMiB(worker), getFindingMs, traceChars: d?.trace.length ?? -1 };
  } finally {
    client?.close();
    await Promise.all(procs.map((p) => p.stop()));
    await redis.destroy();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await measureLivelockRss(process.argv[2] ? Number(process.argv[2]) : undefined)));
}
