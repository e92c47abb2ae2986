import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A free loopback TCP port (bound and released; fine for tests on one machine). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** One PING over a raw socket: true when Redis answers (+PONG, or -NOAUTH when it wants a password). */
function ping(port: number, ca?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock: Socket = ca
      ? tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' })
      : createConnection({ host: '127.0.0.1', port });
    let buf = '';
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.on('error', () => done(false));
    sock.on(ca ? 'secureConnect' : 'connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG') || buf.startsWith('-NOAUTH'));
    });
  });
}

/**
 * A private redis-server (tests, benchmarks) on a free loopback port, with append-only persistence in a temporary
 * directory, so a test can stop and restart it (data survives) without touching a shared Redis.
 */
export interface TestRedisOptions {
  /** requirepass */
  readonly password?: string;
  /** Serve TLS only (PEM file paths); clients must trust `ca` (e.g. NODE_EXTRA_CA_CERTS). */
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca: string };
}

export class TestRedis {
  private proc: ChildProcess | null = null;
  private constructor(
    readonly port: number,
    readonly dir: string,
    readonly opts: TestRedisOptions,
  ) {}

  static async start(opts: TestRedisOptions = {}): Promise<TestRedis> {
    const r = new TestRedis(await freePort(), mkdtempSync(join(tmpdir(), 'racefarm-redis-')), opts);
    await r.up();
    return r;
  }

  /** redis://127.0.0.1:PORT, or rediss://:PASSWORD@… as configured. */
  get url(): string {
    const auth = this.opts.password ? `:${encodeURIComponent(this.opts.password)}@` : '';
    return `${this.opts.tls ? 'rediss' : 'redis'}://${auth}127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.proc !== null;
  }

  private async up(): Promise<void> {
    const args = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', this.dir];
    const { tls, password } = this.opts;
    if (tls) {
      args.push('--port', '0', '--tls-port', String(this.port), '--tls-cert-file', tls.cert, '--tls-key-file', tls.key);
      args.push('--tls-ca-cert-file', tls.ca, '--tls-auth-clients', 'no');
    } else args.push('--port', String(this.port));
    if (password) args.push('--requirepass', password);
    const p = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'inherit'] });
    const ca = tls ? readFileSync(tls.ca, 'utf8') : undefined;
    this.proc = p;
    let exited = false;
    p.once('exit', () => {
      exited = true;
      if (this.proc === p) this.proc = null;
    });
    const until = Date.now() + 10_000;
    while (!(await ping(this.port, ca))) {
      if (exited) throw new Error(`redis-server on port ${this.port} exited at start`);
      if (Date.now() > until) throw new Error(`redis-server on port ${this.port} did not answer`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stops the server (SIGTERM: Redis flushes the append-only file and exits). */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
      p.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      p.kill('SIGTERM');
    });
    this.proc = null;
  }

  /** Stops the server, waits `downMs`, starts it again on the same port and data directory. */
  async restart(downMs = 0): Promise<void> {
    await this.stop();
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    await this.up();
  }

  /** Stops the server and deletes its data. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
