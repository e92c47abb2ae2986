import { Redis, type RedisOptions } from 'ioredis';

/** BullMQ queue prefix and the prefix of the farm's own keys (docs/farm.md). */
export const PREFIX = 'racefarm';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_GRPC = '127.0.0.1:50051';

export function redisUrl(flag?: string): string {
  return flag ?? process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
}

export function grpcAddress(flag?: string): string {
  return flag ?? process.env.RACEFARM_GRPC ?? DEFAULT_GRPC;
}

export function coordinatorAddress(flag?: string): string {
  return flag ?? process.env.RACEFARM_COORDINATOR ?? DEFAULT_GRPC;
}

/** Bearer token: the flag, else RACEFARM_TOKEN; empty means none. */
export function token(flag?: string): string | undefined {
  const t = flag ?? process.env.RACEFARM_TOKEN;
  return t ? t : undefined;
}

function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}: ${JSON.stringify(v)} is not a positive integer`);
  return n;
}

/**
 * Job lock and stalled-job check timing (ms). A worker that dies (kill -9) holds its job's lock
 * until `lockDuration` passes; the next stalled check (every `stalledInterval`) puts the job back.
 * Env: RACEFARM_LOCK_MS, RACEFARM_STALLED_MS, RACEFARM_MAX_STALLED.
 */
export interface LockTiming {
  readonly lockDuration: number;
  readonly stalledInterval: number;
  readonly maxStalledCount: number;
}

export function lockTiming(): LockTiming {
  return {
    lockDuration: envInt('RACEFARM_LOCK_MS', 30_000),
    stalledInterval: envInt('RACEFARM_STALLED_MS', 15_000),
    maxStalledCount: envInt('RACEFARM_MAX_STALLED', 10),
  };
}

/** Parses HOST:PORT (IPv6 as [::1]:PORT). */
export function parseHostPort(s: string, what: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(s);
  if (!m) throw new Error(`${what}: ${JSON.stringify(s)} is not HOST:PORT`);
  const port = Number(m[2]);
  if (port > 65535) throw new Error(`${what}: port ${port} is out of range`);
  return { host: m[1], port };
}

/**
 * A Redis connection for the farm. ioredis reads password, user, db and TLS from the URL
 * (`redis://:pw@host:6379/0`, `rediss://…` for TLS). Commands wait across reconnects
 * (maxRetriesPerRequest: null, as BullMQ workers require), and reconnection never gives up.
 */
export function connectRedis(url: string, extra: RedisOptions = {}): Redis {
  const r = new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(100 * times, 2000),
    ...extra,
  });
  // Errors surface through the commands that wait on them; without a listener ioredis would
  // print every reconnect attempt as an unhandled error event.
  r.on('error', () => {});
  return r;
}

/** Redis refused the URL's credentials: retrying cannot help. */
export class RedisAuthError extends Error {}

/**
 * Checks the URL's credentials once before a process starts its queues: a wrong or missing
 * password (WRONGPASS, NOAUTH) fails at once with one line, instead of an endless loop of
 * reconnects that never serves. An unreachable Redis is not an error here: the farm's connections
 * wait for it (a Redis that restarts is ridden out).
 */
export async function checkRedisAuth(url: string): Promise<void> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false, connectTimeout: 5000 });
  // ioredis reports the AUTH reply as an error event; connect() then only says the connection closed.
  let refused = '';
  r.on('error', (e: Error) => {
    if (/WRONGPASS|NOAUTH/.test(e.message)) refused ||= e.message;
  });
  try {
    await r.connect();
    await r.ping();
  } catch (e) {
    const m = (refused || String((e as Error)?.message ?? e)).split('\n')[0];
    if (/WRONGPASS|NOAUTH|invalid password|invalid username/i.test(m)) {
      throw new RedisAuthError(`redis ${redactUrl(url)} refused the credentials (${m}): check the password in the URL`);
    }
  } finally {
    r.disconnect();
  }
}

/** The URL with any password replaced, for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/** Bearer token for `/metrics`: the flag, else RACEFARM_METRICS_TOKEN; none means /metrics is open. */
export function metricsToken(flag?: string): string | undefined {
  const t = flag ?? process.env.RACEFARM_METRICS_TOKEN;
  return t ? t : undefined;
}

/** The coordinator's TLS files for gRPC: flags, else RACEFARM_TLS_CERT / RACEFARM_TLS_KEY; both or neither. */
export function serverTlsFiles(cert?: string, key?: string): { cert: string; key: string } | undefined {
  const c = cert ?? process.env.RACEFARM_TLS_CERT ?? '';
  const k = key ?? process.env.RACEFARM_TLS_KEY ?? '';
  if (c === '' && k === '') return undefined;
  if (c === '' || k === '') throw Object.assign(new Error('--tls-cert and --tls-key go together (env RACEFARM_TLS_CERT, RACEFARM_TLS_KEY)'), { code: 'EINPUT' });
  return { cert: c, key: k };
}

/** The CA a client trusts for the coordinator's certificate: the flag, else RACEFARM_TLS_CA. */
export function clientTlsCa(flag?: string): string | undefined {
  const c = flag ?? process.env.RACEFARM_TLS_CA;
  return c ? c : undefined;
}

/** True for an address only this machine can reach (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.startsWith('[') ? host.slice(1, -1) : host;
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}
