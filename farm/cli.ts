import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { FarmClient, CampaignEvent } from './client.ts';
import type { StartCampaignInput } from './campaign.ts';
import type { CampaignView, FindingSummary } from './store.ts';
import { FARM_STRATEGIES } from './strategies.ts';

// The heavy modules (gRPC, BullMQ, ioredis, the simulator) load when a command runs, so that
// `racefarm --help` or a usage error stays fast.
const config = () => import('./config.ts');

/** gRPC status codes used here (@grpc/grpc-js `status`). */
const INVALID_ARGUMENT = 3;
const DEADLINE_EXCEEDED = 4;
const UNAVAILABLE = 14;
const STATUS_NAMES: Record<number, string> = {
  1: 'CANCELLED', 2: 'UNKNOWN', 3: 'INVALID_ARGUMENT', 4: 'DEADLINE_EXCEEDED', 5: 'NOT_FOUND', 7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED', 9: 'FAILED_PRECONDITION', 12: 'UNIMPLEMENTED', 13: 'INTERNAL', 14: 'UNAVAILABLE', 16: 'UNAUTHENTICATED',
};

function isGrpcError(e: unknown): e is { code: number; details: string } {
  return typeof e === 'object' && e !== null && 'code' in e && typeof (e as { code: unknown }).code === 'number' && 'details' in e;
}

function intArg(what: string, min: number) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) < min || !Number.isSafeInteger(Number(v))) {
      throw new InvalidArgumentError(`${what} must be an integer ≥ ${min}`);
    }
    return Number(v);
  };
}

function queueList(v: string): ('fuzz' | 'minimize')[] {
  const qs = v.split(',').map((q) => q.trim());
  if (qs.length === 0 || qs.some((q) => q !== 'fuzz' && q !== 'minimize')) throw new InvalidArgumentError('--queues takes fuzz, minimize or fuzz,minimize');
  return [...new Set(qs)] as ('fuzz' | 'minimize')[];
}

const log = (msg: string) => process.stderr.write(`${new Date().toISOString()} ${msg}\n`);

/** Closes the handle on SIGTERM / SIGINT, then exits 0 (a second signal exits at once). */
function onShutdown(close: () => Promise<void>, what: string): void {
  let closing = false;
  const handler = (sig: string) => {
    if (closing) process.exit(1);
    closing = true;
    log(`${what}: ${sig}, shutting down`);
    close().then(
      () => process.exit(0),
      (e) => {
        log(`${what}: shutdown error: ${(e as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => handler('SIGTERM'));
  process.on('SIGINT', () => handler('SIGINT'));
}

let setExitCode = (code: number) => {
  process.exitCode = code;
};

/** Reports a client error: bad input → exit 2, anything else → exit 1. */
function fail(e: unknown): void {
  if (isGrpcError(e)) {
    const bad = e.code === INVALID_ARGUMENT;
    process.stderr.write(`racefarm: ${STATUS_NAMES[e.code] ?? `status ${e.code}`}: ${e.details}\n`);
    setExitCode(bad ? 2 : 1);
  } else {
    process.stderr.write(`racefarm: ${(e as Error).message}\n`);
    setExitCode((e as { code?: string }).code === 'EINPUT' ? 2 : 1);
  }
}

interface ClientFlags {
  coordinator?: string;
  token?: string;
  json?: boolean;
}

function withClient(cmd: Command): Command {
  return cmd
    .option('--coordinator <host:port>', 'coordinator gRPC address (env RACEFARM_COORDINATOR)')
    .option('--token <token>', 'bearer token (env RACEFARM_TOKEN)');
}

async function withFarm<T>(flags: ClientFlags, fn: (c: FarmClient) => Promise<T>): Promise<void> {
  const [{ FarmClient }, { coordinatorAddress, token }] = await Promise.all([import('./client.ts'), config()]);
  const c = new FarmClient(coordinatorAddress(flags.coordinator), { token: token(flags.token) });
  try {
    await fn(c);
  } catch (e) {
    fail(e);
  } finally {
    c.close();
  }
}

function progressLine(c: CampaignView): string {
  const oracles = Object.entries(c.byOracle).map(([k, v]) => `${k}=${v}`).join(' ');
  return `${c.id} ${c.state}: ${c.jobsDone}/${c.jobsTotal} jobs, ${c.schedules} schedules, ${c.steps} steps, ${c.uniqueSignatures} signatures${c.minimizePending ? ` (${c.minimizePending} minimizing)` : ''}${c.coverage ? `, ${c.coverageFeatures} coverage features` : ''}${c.failedRangeCount ? `, ${c.failedRangeCount} failed ranges` : ''}${oracles ? `, ${oracles}` : ''}`;
}

function findingLine(f: FindingSummary): string {
  return `finding ${f.signature} ${f.oracle} ${f.scenario} ${f.variant} seed ${f.seed} ${f.status}`;
}

function statusText(c: CampaignView): string {
  return [
    `campaign   ${c.id}${c.name ? ` (${c.name})` : ''}`,
    `state      ${c.state}`,
    `scenario   ${c.scenario}`,
    `variant    ${c.variant}`,
    `strategy   ${c.strategy}${c.strategy === 'pct' ? ` depth ${c.depth}` : ''}`,
    `seeds      [${c.seedStart}, ${c.seedStart + c.seedCount}) (${c.seedCount}, ${c.batchSize} per job)`,
    `jobs       ${c.jobsDone}/${c.jobsTotal}`,
    `schedules  ${c.schedules}`,
    `steps      ${c.steps}`,
    `oracles    ${Object.entries(c.byOracle).map(([k, v]) => `${k}=${v}`).join(' ') || '-'}`,
    `signatures ${c.uniqueSignatures}${c.minimizePending ? ` (${c.minimizePending} minimizing)` : ''}`,
    `coverage   ${c.coverage ? `${c.coverageFeatures} features` : 'not collected'}`,
    ...failedLines(c),
  ].join('\n');
}

/** The failed ranges of a campaign, one line each, at most 10 listed ("… and N more"). */
function failedLines(c: CampaignView): string[] {
  if (c.failedRangeCount === 0) return [];
  const shown = c.failedRanges.slice(0, 10);
  const lines = [`failed     ${c.failedRangeCount} seed range${c.failedRangeCount === 1 ? '' : 's'} (not in the totals; \`racefarm campaign retry ${c.id}\` runs them again)`];
  for (const r of shown) lines.push(`           [${r.seedStart}, ${r.seedStart + r.seedCount}) ${r.error}`);
  if (c.failedRangeCount > shown.length) lines.push(`           … and ${c.failedRangeCount - shown.length} more`);
  return lines;
}

/** Streams a campaign's events to stdout; rides out a coordinator restart (UNAVAILABLE) for a minute. */
async function follow(c: FarmClient, id: string, json: boolean): Promise<void> {
  const onEvent = (e: CampaignEvent) => {
    if (json) process.stdout.write(`${JSON.stringify(e)}\n`);
    else if ('progress' in e) process.stdout.write(`${progressLine(e.progress)}\n`);
    else process.stdout.write(`${findingLine(e.finding)}\n`);
  };
  let unavailableSince = 0;
  for (;;) {
    try {
      const last = await c.watchCampaign(id, (e) => {
        unavailableSince = 0;
        onEvent(e);
      });
      if (!last) throw new Error(`campaign ${id}: the stream ended without progress`);
      if (last.state === 'done' || last.state === 'incomplete' || last.state === 'cancelled') return;
    } catch (e) {
      if (!isGrpcError(e) || e.code !== UNAVAILABLE) throw e;
      unavailableSince ||= Date.now();
      if (Date.now() - unavailableSince > 60_000) throw e;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

export interface FarmCommandOptions {
  /**
   * How a command reports its exit status (a CLI that sets process.exitCode after parsing passes
   * its own setter); default: process.exitCode. 0 ok, 1 failure (coordinator unreachable, not
   * found…), 2 bad input (INVALID_ARGUMENT, unreadable file).
   */
  readonly setExitCode?: (code: number) => void;
}

/**
 * The farm's commands (docs/farm.md): `coordinator`, `worker`, and the client
 * `campaign start|status|watch|cancel|findings|list`. `coordinator` and `worker` keep running
 * after their action returns, until SIGTERM / SIGINT.
 */
export function addFarmCommands(program: Command, opts: FarmCommandOptions = {}): void {
  if (opts.setExitCode) setExitCode = opts.setExitCode;
  program
    .command('coordinator')
    .description('run the farm coordinator: gRPC service + result consumer over Redis')
    .option('--grpc <host:port>', 'gRPC listen address (env RACEFARM_GRPC; default 127.0.0.1:50051)')
    .option('--redis <url>', 'Redis URL, redis:// or rediss:// with optional password (env REDIS_URL)')
    .option('--token <token>', 'require "authorization: Bearer <token>" on every call (env RACEFARM_TOKEN)')
    .option('--metrics <host:port>', 'serve Prometheus /metrics here, or "off" (env RACEFARM_METRICS; default 127.0.0.1:9464)')
    .action(async (o: { grpc?: string; redis?: string; token?: string; metrics?: string }) => {
      const { grpcAddress, redactUrl, redisUrl, token } = await config();
      const { startCoordinator } = await import('../coordinator/main.ts');
      const { metricsAddress } = await import('./metrics.ts');
      const url = redisUrl(o.redis);
      const m = metricsAddress('coordinator', o.metrics);
      try {
        const h = await startCoordinator({ redisUrl: url, grpc: grpcAddress(o.grpc), token: token(o.token), log, metrics: m.address, metricsExplicit: m.explicit });
        log(`coordinator: redis ${redactUrl(url)}${token(o.token) ? ', bearer token required' : ''}`);
        if (h.metricsUrl) process.stdout.write(`coordinator metrics on ${h.metricsUrl}\n`);
        process.stdout.write(`coordinator listening on ${h.address}\n`);
        onShutdown(() => h.close(), 'coordinator');
      } catch (e) {
        log(`coordinator: ${(e as Error).message}`);
        process.exit(1);
      }
    });

  program
    .command('worker')
    .description('run a farm worker: fuzz and minimize jobs from Redis')
    .option('--redis <url>', 'Redis URL, redis:// or rediss:// with optional password (env REDIS_URL)')
    .option('--concurrency <n>', 'jobs in parallel (worker threads)', intArg('--concurrency', 1), 1)
    .option('--queues <list>', 'queues to consume: fuzz, minimize or fuzz,minimize (dedicated minimize workers)', queueList, ['fuzz', 'minimize'])
    .option('--metrics <host:port>', 'serve Prometheus /metrics here, or "off" (env RACEFARM_METRICS; default 127.0.0.1:9465, a free port when taken)')
    .action(async (o: { redis?: string; concurrency: number; queues: ('fuzz' | 'minimize')[]; metrics?: string }) => {
      const { redactUrl, redisUrl } = await config();
      const { startWorker } = await import('../worker/main.ts');
      const { metricsAddress } = await import('./metrics.ts');
      const url = redisUrl(o.redis);
      const m = metricsAddress('worker', o.metrics);
      try {
        const h = await startWorker({ redisUrl: url, concurrency: o.concurrency, queues: o.queues, log, metrics: m.address, metricsExplicit: m.explicit });
        log(`worker: redis ${redactUrl(url)}, concurrency ${o.concurrency}, queues ${o.queues.join(',')}`);
        if (h.metricsUrl) process.stdout.write(`worker metrics on ${h.metricsUrl}\n`);
        process.stdout.write(`worker ready (pid ${process.pid})\n`);
        onShutdown(() => h.close(), 'worker');
      } catch (e) {
        log(`worker: ${(e as Error).message}`);
        process.exit(1);
      }
    });

  const campaign = program.command('campaign').description('farm client: start, follow and inspect campaigns');

  withClient(
    campaign
      .command('start')
      .description('start a campaign; prints its id (or the campaign as JSON with --json)')
      .requiredOption('--scenario <name|file>', 'built-in scenario or scenario JSON file')
      .option('--variant <preset|file>', 'variant preset or variant JSON file (default: the scenario\'s)')
      .addOption(new Option('--strategy <name>', 'schedule strategy').choices([...FARM_STRATEGIES]).default('random'))
      .option('--depth <d>', 'PCT depth', intArg('--depth', 1), 3)
      .option('--seeds <n>', 'number of seeds', intArg('--seeds', 1), 10000)
      .option('--seed-start <s>', 'first seed', intArg('--seed-start', 0), 0)
      .option('--batch <n>', 'seeds per fuzz job (each job costs a few queue round trips)', intArg('--batch', 1), 5000)
      .option('--coverage', 'collect coverage features and merge them per campaign (slower runs)')
      .option('--name <label>', 'a label')
      .option('--request-id <id>', 'idempotency key (default: a random one); a retry with the same key returns the same campaign')
      .option('--watch', 'follow progress until the campaign ends')
      .option('--json', 'print JSON'),
  ).action(
    async (o: ClientFlags & { scenario: string; variant?: string; strategy: string; depth: number; seeds: number; seedStart: number; batch: number; coverage?: boolean; name?: string; requestId?: string; watch?: boolean }) => {
      const req: StartCampaignInput = {
        request_id: o.requestId ?? randomUUID(),
        name: o.name ?? '',
        strategy: o.strategy,
        depth: o.depth,
        seed_start: String(o.seedStart),
        seed_count: String(o.seeds),
        batch_size: o.batch,
        coverage: o.coverage === true,
      };
      const [{ catalogEntry }, { PRESETS }] = await Promise.all([import('../sim/scenario/catalog.ts'), import('../sim/variants/presets.ts')]);
      try {
        if (catalogEntry(o.scenario) || !existsSync(o.scenario)) req.scenario_name = o.scenario;
        else req.scenario_json = readFileSync(o.scenario, 'utf8');
        if (o.variant !== undefined) {
          if (PRESETS.has(o.variant) || !existsSync(o.variant)) req.variant_preset = o.variant;
          else req.variant_json = readFileSync(o.variant, 'utf8');
        }
      } catch (e) {
        fail(Object.assign(new Error((e as Error).message), { code: 'EINPUT' }));
        return;
      }
      await withFarm(o, async (c) => {
        // The request id makes a retry safe: a coordinator that died mid-call (UNAVAILABLE) or
        // answered too late created at most one campaign, which the retry returns.
        let started: CampaignView;
        for (let tries = 1; ; tries++) {
          try {
            started = await c.startCampaign(req);
            break;
          } catch (e) {
            if (!isGrpcError(e) || (e.code !== UNAVAILABLE && e.code !== DEADLINE_EXCEEDED) || tries >= 5) throw e;
            // Never reached the coordinator: nothing to make safe, say so at once.
            if (tries === 1 && /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH/.test(e.details)) throw e;
            process.stderr.write(`racefarm: ${STATUS_NAMES[e.code]}, retrying with request id ${req.request_id} (${tries}/4)\n`);
            await new Promise((r) => setTimeout(r, 2000 * tries));
          }
        }
        if (o.json && !o.watch) process.stdout.write(`${JSON.stringify(started)}\n`);
        else if (!o.watch) process.stdout.write(`${started.id}\n`);
        else {
          process.stderr.write(`campaign ${started.id}\n`);
          await follow(c, started.id, o.json === true);
        }
      });
    },
  );

  withClient(campaign.command('status').description('show a campaign').argument('<id>').option('--json', 'print JSON')).action(
    async (id: string, o: ClientFlags) =>
      withFarm(o, async (c) => {
        const s = await c.getCampaign(id);
        process.stdout.write(o.json ? `${JSON.stringify(s)}\n` : `${statusText(s)}\n`);
      }),
  );

  withClient(
    campaign.command('watch').description('follow a campaign until it ends (done, incomplete or cancelled)').argument('<id>').option('--json', 'one JSON event per line'),
  ).action(async (id: string, o: ClientFlags) => withFarm(o, (c) => follow(c, id, o.json === true)));

  withClient(campaign.command('cancel').description('cancel a campaign (removes its waiting jobs)').argument('<id>').option('--json', 'print JSON')).action(
    async (id: string, o: ClientFlags) =>
      withFarm(o, async (c) => {
        const s = await c.cancelCampaign(id);
        process.stdout.write(o.json ? `${JSON.stringify(s)}\n` : `${progressLine(s)}\n`);
      }),
  );

  withClient(
    campaign
      .command('retry')
      .description('run again the seed ranges of a campaign whose jobs failed for good (idempotent)')
      .argument('<id>')
      .option('--json', 'print JSON'),
  ).action(async (id: string, o: ClientFlags) =>
    withFarm(o, async (c) => {
      const s = await c.retryCampaign(id);
      process.stdout.write(o.json ? `${JSON.stringify(s)}\n` : `${progressLine(s)}\n`);
    }),
  );

  withClient(campaign.command('list').description('list recent campaigns').option('--json', 'print JSON')).action(async (o: ClientFlags) =>
    withFarm(o, async (c) => {
      for (const s of await c.listCampaigns()) process.stdout.write(o.json ? `${JSON.stringify(s)}\n` : `${progressLine(s)}\n`);
    }),
  );

  withClient(
    campaign
      .command('findings')
      .description("list findings (all, or one campaign's); --out writes finding files that `repro` replays")
      .argument('[id]', 'campaign id')
      .option('--out <dir>', 'write each finding to DIR/<signature>.json')
      .option('--json', 'print JSON'),
  ).action(async (id: string | undefined, o: ClientFlags & { out?: string }) =>
    withFarm(o, async (c) => {
      const list = await c.listFindings(id ?? '');
      if (o.out) mkdirSync(o.out, { recursive: true });
      for (const f of list) {
        let file: string | undefined;
        if (o.out) {
          const d = await c.getFinding(f.signature);
          file = join(o.out, `${f.signature}.json`);
          writeFileSync(file, `${d.findingJson}\n`);
        }
        if (o.json) process.stdout.write(`${JSON.stringify(file ? { ...f, file } : f)}\n`);
        else process.stdout.write(`${findingLine(f)}${file ? ` ${file}` : ''}\n`);
      }
    }),
  );
}
