import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT, compiledModule } from '../farm/compiled.ts';

export const ROOT = PACKAGE_ROOT;

/** Short lock and stalled-check timings, so a killed worker's job comes back within ~3 s. */
export const FAST_LOCKS = { RACEFARM_LOCK_MS: '2000', RACEFARM_STALLED_MS: '1000' };

/** A farm process (`node dist/farm/main.js …`, or `node --import tsx farm/main.ts …` when dist/ is not current) with its output collected. */
export class FarmProc {
  out = '';
  err = '';
  exitCode: number | null = null;
  signal: NodeJS.Signals | null = null;
  private readonly exited: Promise<void>;

  constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (d) => (this.out += d.toString()));
    child.stderr!.on('data', (d) => (this.err += d.toString()));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exitCode = code;
        this.signal = signal;
        resolve();
      }),
    );
  }

  get alive(): boolean {
    return this.exitCode === null && this.signal === null;
  }

  /** Resolves with the first match of `re` in stdout. */
  async waitFor(re: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const m = this.out.match(re);
      if (m) return m;
      if (!this.alive) throw new Error(`process exited (${this.exitCode ?? this.signal}) before ${re}:\n${this.err}`);
      if (Date.now() > until) throw new Error(`timed out waiting for ${re}:\n${this.out}\n${this.err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  wait(): Promise<void> {
    return this.exited;
  }

  /** Sends `signal`; after `graceMs` without exit, SIGKILL. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
    if (!this.alive) return;
    this.child.kill(signal);
    const t = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(t);
  }
}

export function farmProcess(args: string[], env: Record<string, string> = {}): FarmProc {
  const compiled = compiledModule(new URL('../farm/main.ts', import.meta.url));
  const entry = compiled ? [fileURLToPath(compiled)] : ['--import', 'tsx', 'farm/main.ts'];
  const child = spawn(process.execPath, [...entry, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new FarmProc(child);
}

export async function startCoordinatorProc(redisUrl: string, opts: { grpc?: string; token?: string; env?: Record<string, string> } = {}) {
  const args = ['coordinator', '--redis', redisUrl, '--grpc', opts.grpc ?? '127.0.0.1:0'];
  if (opts.token) args.push('--token', opts.token);
  const p = farmProcess(args, { ...FAST_LOCKS, ...opts.env });
  const m = await p.waitFor(/coordinator listening on (\S+)/);
  return { proc: p, address: m[1] };
}

export async function startWorkerProc(redisUrl: string, opts: { concurrency?: number; queues?: string; env?: Record<string, string> } = {}) {
  const args = ['worker', '--redis', redisUrl];
  if (opts.queues) args.push('--queues', opts.queues);
  if (opts.concurrency) args.push('--concurrency', String(opts.concurrency));
  const p = farmProcess(args, { ...FAST_LOCKS, ...opts.env });
  await p.waitFor(/worker ready/);
  return p;
}

/** Runs a farm CLI command to completion. */
export async function runFarmCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  const p = farmProcess(args, env);
  await p.wait();
  return { code: p.exitCode, out: p.out, err: p.err };
}

/** Polls `fn` until it returns a truthy value. */
export async function until<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs: number, what: string, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
