import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { FarmClient, CampaignEvent } from './farmClient.ts';
import type { StartCampaignInput } from '../farm/campaign.ts';
import type { CampaignView, FindingSummary } from '../farm/store.ts';
import { FARM_STRATEGIES } from '../farm/strategies.ts';
import { findingFileName } from './findingFile.ts';
import { farmError, isGrpcError, statusName } from './farmErrors.ts';
import { EXIT } from './errors.ts';
import { namedVariantJson } from './variantFileName.ts';
import { escapeText, jsonLine } from '../farm/safeText.ts';

/**
 * Text from the coordinator (names, errors, a finding's fields) as it goes to a terminal: control
 * characters and lone surrogates escaped, capped (an ESC sequence in a campaign name must not
 * repaint the reader's terminal; a huge field must not flood it).
 */
const t = (v: unknown, max = 200): string => escapeText(String(v ?? ''), max);
/** A finding's signature as the farm writes them: the only text used as a file name. */
const SIGNATURE = /^[0-9a-f]{1,64}$/;
/** A scenario name as sim/scenario/schema.ts allows it (the other part of a finding file's name). */
const SCENARIO_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

// The heavy modules (gRPC, BullMQ, ioredis, the simulator) load when a command runs, so that
// `racefarm --help` or a usage error stays fast.
const config = () => import('../farm/config.ts');

/** gRPC status codes used here (@grpc/grpc-js `status`). */
const DEADLINE_EXCEEDED = 4;
const UNAVAILABLE = 14;

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

/** Reports a client error on one line (cli/farmErrors.ts): bad input → exit 2, the farm failed → exit 4. */
function fail(e: unknown, address = ''): void {
  const { line, code } = farmError(e, address);
  process.stderr.write(`racefarm: ${line}\n`);
  setExitCode(code);
}

interface ClientFlags {
  coordinator?: string;
  token?: string;
  tlsCa?: string;
  json?: boolean;
}

function withClient(cmd: Command): Command {
  return cmd
    .option('--coordinator <host:port>', 'coordinator gRPC address (env RACEFARM_COORDINATOR; default 127.0.0.1:50051)')
    .option('--token <token>', 'bearer token (env RACEFARM_TOKEN)')
    .option('--tls-ca <file>', "speak TLS to the coordinator, trusting this CA's certificate (PEM; env RACEFARM_TLS_CA)");
}

async function withFarm<T>(flags: ClientFlags, fn: (c: FarmClient) => Promise<T>): Promise<void> {
  const [{ FarmClient }, { clientTlsCa, coordinatorAddress, token }] = await Promise.all([import('./farmClient.ts'), config()]);
  const caFile = clientTlsCa(flags.tlsCa);
  let tlsCa: Buffer | undefined;
  try {
    tlsCa = caFile ? readFileSync(caFile) : undefined;
  } catch (e) {
    fail(Object.assign(new Error(`--tls-ca: ${(e as Error).message}`), { code: 'EINPUT' }));
    return;
  }
  const address = coordinatorAddress(flags.coordinator);
  const c = new FarmClient(address, { token: token(flags.token), tlsCa });
  try {
    await fn(c);
  } catch (e) {
    fail(e, address);
  } finally {
    c.close();
  }
}

function progressLine(c: CampaignView): string {
  const oracles = oracleCounts(c);
  const cert = c.certificate ? `; ${certificateText(c.certificate)}` : '';
  return `${t(c.id, 64)} ${t(c.state, 32)}: ${c.jobsDone}/${c.jobsTotal} jobs, ${c.schedules} schedules, ${c.steps} steps, ${c.uniqueSignatures} signatures${c.minimizePending ? ` (${c.minimizePending} minimizing)` : ''}${c.coverage ? `, ${c.coverageFeatures} coverage features` : ''}${c.failedRangeCount ? `, ${c.failedRangeCount} failed ranges` : ''}${oracles ? `, ${oracles}` : ''}${cert}`;
}

/** `oracle=count …`, at most 20 oracles listed. */
function oracleCounts(c: CampaignView): string {
  const all = Object.entries(c.byOracle);
  const shown = all.slice(0, 20).map(([k, v]) => `${t(k, 64)}=${Number(v)}`);
  if (all.length > shown.length) shown.push(`… and ${all.length - shown.length} more`);
  return shown.join(' ');
}

/** An exhaustive campaign's certificate in one line (farm/certificate.ts). */
function certificateText(x: NonNullable<CampaignView['certificate']>): string {
  const verdicts = `verdicts ${x.verdicts.map((v) => (v === '' ? 'clean' : t(v, 500))).join(' | ') || '-'}`;
  const counts = `${x.schedules} schedules (${x.pruned} pruned)${x.exact ? '' : ', split not exact'}`;
  switch (x.stoppedBy) {
    case null:
      return `certificate complete: no violation within K=${x.bound} preemptions in ${counts}; ${verdicts}`;
    case 'race':
      return `race ${t(x.race!.oracle, 64)} ${t(x.race!.signature, 64)} (prefix ${t(x.race!.prefix, 200)}) within K=${x.bound} after ${counts}; ${verdicts}`;
    case 'budget':
      return `incomplete: over max-schedules ${x.maxSchedules} (K=${x.bound}, ${counts}); ${verdicts}`;
    case 'failed':
      return `incomplete: a prefix job failed for good (K=${x.bound}, ${counts} before it); ${verdicts}`;
    case 'pending':
      return `certificate pending: ${x.prefixesDone}/${x.prefixes} prefixes (K=${x.bound}, ${counts} so far)`;
  }
}

/** Comparison ids start with x (farm/comparisonStore.ts), campaign ids with c. */
function isComparisonId(id: string): boolean {
  return /^x[0-9a-z]+$/.test(id);
}

function findingLine(f: FindingSummary): string {
  return `finding ${t(f.signature, 64)} ${t(f.oracle, 64)} ${t(f.scenario)} ${t(f.variant)} seed ${Number(f.seed)} ${t(f.status, 32)}`;
}

function statusText(c: CampaignView): string {
  return [
    `campaign   ${t(c.id, 64)}${c.name ? ` (${t(c.name)})` : ''}`,
    `state      ${t(c.state, 32)}`,
    `scenario   ${t(c.scenario)}`,
    `variant    ${t(c.variant)}`,
    `strategy   ${t(c.strategy, 32)}${c.strategy === 'pct' ? ` depth ${c.depth === 0 ? 'auto' : c.depth}` : ''}${c.certificate ? ` K=${c.certificate.bound}, max-schedules ${c.certificate.maxSchedules}` : ''}`,
    c.certificate
      ? `prefixes   ${c.certificate.prefixes} (one job each; ${c.certificate.prefixesDone} recorded)`
      : `seeds      [${c.seedStart}, ${c.seedStart + c.seedCount}) (${c.seedCount}, ${c.batchSize} per job)`,
    `jobs       ${c.jobsDone}/${c.jobsTotal}`,
    `schedules  ${c.schedules}`,
    `steps      ${c.steps}`,
    `oracles    ${oracleCounts(c) || '-'}`,
    `signatures ${c.uniqueSignatures}${c.minimizePending ? ` (${c.minimizePending} minimizing)` : ''}`,
    `coverage   ${c.coverage ? `${c.coverageFeatures} features` : 'not collected'}`,
    ...(c.certificate ? [`result     ${certificateText(c.certificate)}`] : []),
    ...failedLines(c),
  ].join('\n');
}

/** The failed ranges of a campaign, one line each, at most 10 listed ("… and N more"). */
function failedLines(c: CampaignView): string[] {
  if (c.failedRangeCount === 0) return [];
  const shown = c.failedRanges.slice(0, 10);
  const lines = [`failed     ${c.failedRangeCount} seed range${c.failedRangeCount === 1 ? '' : 's'} (not in the totals; \`racefarm campaign retry ${t(c.id, 64)}\` runs them again)`];
  for (const r of shown) lines.push(`           [${r.seedStart}, ${r.seedStart + r.seedCount}) ${t(r.error, 1000)}`);
  if (c.failedRangeCount > shown.length) lines.push(`           … and ${c.failedRangeCount - shown.length} more`);
  return lines;
}

/** Streams a campaign's events to stdout; rides out a coordinator restart (UNAVAILABLE) for a minute. */
async function follow(c: FarmClient, id: string, json: boolean): Promise<void> {
  const onEvent = (e: CampaignEvent) => {
    if (json) process.stdout.write(`${jsonLine(e)}\n`);
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
   * its own setter); default: process.exitCode. 0 ok, 2 bad input (INVALID_ARGUMENT, NOT_FOUND,
   * unreadable file), 4 the farm failed (coordinator unreachable, no answer in time, refused).
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
    .option('--redis <url>', 'Redis URL, redis:// or rediss:// with optional password (env REDIS_URL; default redis://127.0.0.1:6379)')
    .option('--token <token>', 'require "authorization: Bearer <token>" on every call (env RACEFARM_TOKEN)')
    .option('--metrics <host:port>', 'serve Prometheus /metrics here, or "off" (env RACEFARM_METRICS; default 127.0.0.1:9464)')
    .option('--metrics-token <token>', 'require "authorization: Bearer <token>" on /metrics (env RACEFARM_METRICS_TOKEN; default: /metrics is open)')
    .option('--tls-cert <file>', 'serve gRPC over TLS with this certificate chain (PEM; env RACEFARM_TLS_CERT; with --tls-key)')
    .option('--tls-key <file>', 'the private key of --tls-cert (PEM; env RACEFARM_TLS_KEY)')
    .action(async (o: { grpc?: string; redis?: string; token?: string; metrics?: string; metricsToken?: string; tlsCert?: string; tlsKey?: string }) => {
      const { grpcAddress, metricsToken, redactUrl, redisUrl, serverTlsFiles, token } = await config();
      const { startCoordinator } = await import('../coordinator/main.ts');
      const { metricsAddress } = await import('../farm/metrics.ts');
      const url = redisUrl(o.redis);
      const m = metricsAddress('coordinator', o.metrics);
      try {
        const files = serverTlsFiles(o.tlsCert, o.tlsKey);
        const tls = files ? { cert: readFileSync(files.cert), key: readFileSync(files.key) } : undefined;
        const h = await startCoordinator({
          redisUrl: url,
          grpc: grpcAddress(o.grpc),
          token: token(o.token),
          log,
          metrics: m.address,
          metricsExplicit: m.explicit,
          tls,
          metricsToken: metricsToken(o.metricsToken),
        });
        log(`coordinator: redis ${redactUrl(url)}${token(o.token) ? ', bearer token required' : ''}`);
        // Each address once, on stdout (the library does not log them): what a script waits for.
        if (h.metricsUrl) process.stdout.write(`coordinator metrics on ${h.metricsUrl}\ncoordinator web view on ${h.metricsUrl.replace(/\/metrics$/, '/')}\n`);
        process.stdout.write(`coordinator listening on ${h.address}${tls ? ' (TLS)' : ''}\n`);
        onShutdown(() => h.close(), 'coordinator');
      } catch (e) {
        log(`coordinator: ${(e as Error).message}`);
        // A flag the coordinator cannot use is bad input (exit 2); anything else is the farm failing.
        process.exit((e as { code?: string }).code === 'EINPUT' ? EXIT.badInput : EXIT.farm);
      }
    });

  program
    .command('worker')
    .description('run a farm worker: fuzz and minimize jobs from Redis')
    .option('--redis <url>', 'Redis URL, redis:// or rediss:// with optional password (env REDIS_URL; default redis://127.0.0.1:6379)')
    .option('--concurrency <n>', 'jobs in parallel (worker threads)', intArg('--concurrency', 1), 1)
    .option('--queues <list>', 'queues to consume: fuzz, minimize or fuzz,minimize (dedicated minimize workers)', queueList, ['fuzz', 'minimize'])
    .option('--metrics <host:port>', 'serve Prometheus /metrics here, or "off" (env RACEFARM_METRICS; default 127.0.0.1:9465, a free port when taken)')
    .option('--metrics-token <token>', 'require "authorization: Bearer <token>" on /metrics (env RACEFARM_METRICS_TOKEN; default: /metrics is open)')
    .action(async (o: { redis?: string; concurrency: number; queues: ('fuzz' | 'minimize')[]; metrics?: string; metricsToken?: string }) => {
      const { metricsToken, redactUrl, redisUrl } = await config();
      const { startWorker } = await import('../worker/main.ts');
      const { metricsAddress } = await import('../farm/metrics.ts');
      const url = redisUrl(o.redis);
      const m = metricsAddress('worker', o.metrics);
      try {
        const h = await startWorker({ redisUrl: url, concurrency: o.concurrency, queues: o.queues, log, metrics: m.address, metricsExplicit: m.explicit, metricsToken: metricsToken(o.metricsToken) });
        log(`worker: redis ${redactUrl(url)}, concurrency ${o.concurrency}, queues ${o.queues.join(',')}`);
        if (h.metricsUrl) process.stdout.write(`worker metrics on ${h.metricsUrl}\n`);
        process.stdout.write(`worker ready (pid ${process.pid})\n`);
        onShutdown(() => h.close(), 'worker');
      } catch (e) {
        log(`worker: ${(e as Error).message}`);
        process.exit(EXIT.farm);
      }
    });

  const campaign = program.command('campaign').description('farm client: start, follow and inspect campaigns');

  withClient(
    campaign
      .command('start')
      .description('start a campaign; prints its id (or the campaign as JSON with --json)')
      .option('--scenario <name|file>', 'built-in scenario or scenario JSON file (required, except with --explore)')
      .option('--variant <preset|file>', 'variant preset or variant JSON file (default: the scenario\'s)')
      .addOption(new Option('--strategy <name>', 'schedule strategy (--explore: mixed, random or pct; default mixed)').choices([...FARM_STRATEGIES, 'mixed']).default('random'))
      .addOption(new Option('--depth <d|auto>', 'PCT depth, or auto (seed s at depth 3 + (s mod 4))').argParser((v: string) => (v.trim() === 'auto' ? 0 : intArg('--depth', 1)(v))).default(0, 'auto'))
      .option('--seeds <n>', 'number of seeds', intArg('--seeds', 1), 10000)
      .option('--seed-start <s>', 'first seed', intArg('--seed-start', 0), 0)
      .option('--batch <n>', 'seeds per fuzz job (each job costs a few queue round trips)', intArg('--batch', 1), 5000)
      .option('--preemptions <k>', 'exhaustive: the preemption bound K (default 2)', intArg('--preemptions', 0))
      .option('--split <n>', 'exhaustive: prefix jobs to split the search into, at least (default 64)', intArg('--split', 1))
      .option('--max-schedules <n>', 'exhaustive: the whole search stops, incomplete, after this many executions (default 1000000)', intArg('--max-schedules', 1))
      .option('--no-reduction', 'exhaustive: plain DFS without the partial-order reduction (the split is then exact)')
      .option('--explore', 'an explore campaign: generated programs instead of --scenario (docs/explore.md); --seed-start is the first program seed, --batch programs per job (default 100)')
      .option('--programs <n>', 'explore: number of generated programs', intArg('--programs', 1), 100)
      .option('--schedules <m>', 'explore: schedules per program', intArg('--schedules', 1), 100)
      .option('--coverage', 'collect coverage features and merge them per campaign (slower runs)')
      .option('--name <label>', 'a label')
      .option('--request-id <id>', 'idempotency key (default: a random one); a retry with the same key returns the same campaign')
      .option('--watch', 'follow progress until the campaign ends')
      .option('--json', 'print JSON'),
  ).action(
    async (
      o: ClientFlags & { scenario?: string; explore?: boolean; programs: number; schedules: number; variant?: string; strategy: string; depth: number; seeds: number; seedStart: number; batch: number; coverage?: boolean; name?: string; requestId?: string; watch?: boolean; preemptions?: number; split?: number; maxSchedules?: number; reduction: boolean },
      cmd: Command,
    ) => {
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
      const given = (k: string) => cmd.getOptionValueSource(k) === 'cli';
      if (o.explore === true) {
        // Programs, not seeds: --programs and --seed-start (the first program seed); --batch is
        // programs per job, its scenario-campaign default does not apply.
        if (o.scenario !== undefined) {
          fail(Object.assign(new Error('--scenario: an explore campaign generates its programs; give no --scenario'), { code: 'EINPUT' }));
          return;
        }
        if (given('seeds')) {
          fail(Object.assign(new Error('--seeds: an explore campaign runs --programs programs, --schedules schedules each'), { code: 'EINPUT' }));
          return;
        }
        req.explore = true;
        req.seed_count = String(o.programs);
        req.schedules_per_program = o.schedules;
        req.batch_size = given('batch') ? o.batch : 0;
        req.strategy = given('strategy') ? o.strategy : '';
      } else if (o.scenario === undefined) {
        fail(Object.assign(new Error("--scenario: required (or --explore)"), { code: 'EINPUT' }));
        return;
      } else if (given('programs') || given('schedules')) {
        fail(Object.assign(new Error(`${given('programs') ? '--programs' : '--schedules'}: only with --explore`), { code: 'EINPUT' }));
        return;
      }
      if (o.strategy === 'exhaustive') {
        // Its jobs are decision prefixes: the seed options' defaults do not apply (given, the
        // coordinator refuses them, naming the field).
        req.seed_start = given('seedStart') ? String(o.seedStart) : '0';
        req.seed_count = given('seeds') ? String(o.seeds) : '0';
        req.batch_size = 0;
        req.depth = 0;
        if (o.preemptions !== undefined) req.preemptions = o.preemptions;
        req.split = o.split ?? 0;
        req.max_schedules = String(o.maxSchedules ?? 0);
        req.no_reduction = !o.reduction;
      } else {
        if (o.preemptions !== undefined) req.preemptions = o.preemptions;
        if (o.split !== undefined) req.split = o.split;
        if (o.maxSchedules !== undefined) req.max_schedules = String(o.maxSchedules);
        if (!o.reduction) req.no_reduction = true;
      }
      const [{ catalogEntry }, { PRESETS }] = await Promise.all([import('../sim/scenario/catalog.ts'), import('../sim/variants/presets.ts')]);
      try {
        if (o.scenario === undefined) {
          // explore: no scenario
        } else if (catalogEntry(o.scenario) || !existsSync(o.scenario)) req.scenario_name = o.scenario;
        else req.scenario_json = readFileSync(o.scenario, 'utf8');
        if (o.variant !== undefined) {
          if (PRESETS.has(o.variant) || !existsSync(o.variant)) req.variant_preset = o.variant;
          else req.variant_json = namedVariantJson(readFileSync(o.variant, 'utf8'), o.variant);
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
            process.stderr.write(`racefarm: ${statusName(e.code)}, retrying with request id ${t(req.request_id, 128)} (${tries}/4)\n`);
            await new Promise((r) => setTimeout(r, 2000 * tries));
          }
        }
        if (o.json && !o.watch) process.stdout.write(`${jsonLine(started)}\n`);
        else if (!o.watch) process.stdout.write(`${t(started.id, 64)}\n`);
        else {
          process.stderr.write(`campaign ${t(started.id, 64)}\n`);
          await follow(c, started.id, o.json === true);
        }
      });
    },
  );

  withClient(campaign.command('status').description('show a campaign, or a comparison (an id from `campaign compare`)').argument('<id>').option('--json', 'print JSON')).action(
    async (id: string, o: ClientFlags) =>
      withFarm(o, async (c) => {
        if (isComparisonId(id)) {
          const { comparisonStatusText } = await import('./farmCompare.ts');
          const x = await c.getComparison(id);
          process.stdout.write(o.json ? `${jsonLine(x)}\n` : `${comparisonStatusText(x)}\n`);
          return;
        }
        const s = await c.getCampaign(id);
        process.stdout.write(o.json ? `${jsonLine(s)}\n` : `${statusText(s)}\n`);
      }),
  );

  withClient(
    campaign
      .command('compare')
      .description('the variants × scenarios matrix of `racefarm compare`, every cell run as farm campaigns; prints the matrix when it is done')
      .requiredOption('--variants <list>', 'comma-separated presets or variant files, or all')
      .requiredOption('--scenarios <list>', 'comma-separated built-in scenarios or scenario files, or all')
      .option('--preemptions <k>', 'preemption bound K of each exhaustive search (default 2)', intArg('--preemptions', 0))
      .option('--seeds <n>', 'seeds of each fallback campaign, random then pct (default 1000)', intArg('--seeds', 1))
      .option('--max-schedules <n>', 'executions each exhaustive search may spend (default 10000)', intArg('--max-schedules', 1))
      .option('--split <n>', 'prefix jobs per exhaustive search (default 16)', intArg('--split', 1))
      .option('--format <f>', 'text, markdown, html or json (as racefarm compare)', 'text')
      .option('--out <dir>', 'where the cells\' findings are written', './findings')
      .option('--name <label>', 'a label')
      .option('--request-id <id>', 'idempotency key (default: a random one); a retry with the same key returns the same comparison')
      .option('--no-wait', 'print the comparison id and return (then: campaign status ID)'),
  ).action(async (o: ClientFlags & import('./farmCompare.ts').CompareFlags & { out: string; requestId?: string; wait: boolean }) => {
    const { comparisonRequest, renderComparison } = await import('./farmCompare.ts');
    let req;
    try {
      req = comparisonRequest(o, o.requestId ?? randomUUID());
    } catch (e) {
      const msg = (e as { problems?: string[] }).problems ? `${(e as Error).message.split(':\n')[0]}: ${(e as { problems: string[] }).problems.join('; ')}` : (e as Error).message;
      fail(Object.assign(new Error(msg), { code: 'EINPUT' }));
      return;
    }
    await withFarm(o, async (c) => {
      const started = await c.startComparison(req);
      if (!o.wait) {
        process.stdout.write(`${t(started.id, 64)}\n`);
        return;
      }
      process.stderr.write(`comparison ${t(started.id, 64)}: ${started.cells.length} cell(s)\n`);
      let unavailableSince = 0;
      for (;;) {
        try {
          const x = await c.getComparison(started.id);
          unavailableSince = 0;
          if (process.stderr.isTTY) process.stderr.write(`\r${x.cells.filter((y) => y.state === 'done' || y.state === 'failed').length}/${x.cells.length} cells`);
          if (x.state !== 'running') {
            if (process.stderr.isTTY) process.stderr.write('\n');
            process.stdout.write(renderComparison(x, o.format, o.out));
            return;
          }
        } catch (e) {
          if (!isGrpcError(e) || e.code !== UNAVAILABLE) throw e;
          unavailableSince ||= Date.now();
          if (Date.now() - unavailableSince > 60_000) throw e;
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    });
  });

  withClient(
    campaign.command('watch').description('follow a campaign until it ends (done, incomplete or cancelled)').argument('<id>').option('--json', 'one JSON event per line'),
  ).action(async (id: string, o: ClientFlags) => withFarm(o, (c) => follow(c, id, o.json === true)));

  withClient(campaign.command('cancel').description('cancel a campaign (removes its waiting jobs), or a comparison and the campaigns of its cells').argument('<id>').option('--json', 'print JSON')).action(
    async (id: string, o: ClientFlags) =>
      withFarm(o, async (c) => {
        if (isComparisonId(id)) {
          const { comparisonStatusText } = await import('./farmCompare.ts');
          const x = await c.cancelComparison(id);
          process.stdout.write(o.json ? `${jsonLine(x)}\n` : `${comparisonStatusText(x)}\n`);
          return;
        }
        const s = await c.cancelCampaign(id);
        process.stdout.write(o.json ? `${jsonLine(s)}\n` : `${progressLine(s)}\n`);
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
      process.stdout.write(o.json ? `${jsonLine(s)}\n` : `${progressLine(s)}\n`);
    }),
  );

  withClient(campaign.command('list').description('list recent campaigns').option('--json', 'print JSON')).action(async (o: ClientFlags) =>
    withFarm(o, async (c) => {
      for (const s of await c.listCampaigns()) process.stdout.write(o.json ? `${jsonLine(s)}\n` : `${progressLine(s)}\n`);
    }),
  );

  withClient(
    campaign
      .command('findings')
      .description("list findings (all, or one campaign's); --out writes finding files that `repro` replays")
      .argument('[id]', 'campaign id')
      .option('--out <dir>', 'write each finding to DIR/<scenario>.<signature>.json (with a campaign id: that campaign\'s)')
      .option('--json', 'print JSON, one object per line (NDJSON)'),
  ).action(async (id: string | undefined, o: ClientFlags & { out?: string }) =>
    withFarm(o, async (c) => {
      const list = await c.listFindings(id ?? '');
      if (o.out) {
        try {
          mkdirSync(o.out, { recursive: true });
        } catch (e) {
          throw Object.assign(new Error(`--out: cannot create directory ${o.out}: ${(e as Error).message}`), { code: 'EINPUT' });
        }
      }
      for (const f of list) {
        let file: string | undefined;
        if (o.out) {
          // Names come from the coordinator: never a path (`../x`), only a signature and a scenario name.
          if (!SIGNATURE.test(f.signature)) throw new Error(`findings: ${JSON.stringify(t(f.signature, 80))} is not a signature; not written`);
          // The file is the finding the line shows: the campaign's own with a campaign id, else the farm's.
          const d = await c.getFinding(f.signature, id ?? '');
          if (!SCENARIO_NAME.test(d.summary.scenario)) throw new Error(`findings: ${JSON.stringify(t(d.summary.scenario, 80))} is not a scenario name; not written`);
          file = join(o.out, findingFileName({ scenario: { name: d.summary.scenario }, signature: f.signature }));
          writeFileSync(file, `${d.findingJson}\n`);
          if (d.reason) process.stderr.write(`racefarm: finding ${f.signature}: ${t(d.reason, 2000)}\n`);
        }
        if (o.json) process.stdout.write(`${jsonLine(file ? { ...f, file } : f)}\n`);
        else process.stdout.write(`${findingLine(f)}${file ? ` ${t(file, 4096)}` : ''}\n`);
      }
    }),
  );
}
