import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalogEntry } from '../sim/scenario/catalog.ts';
import { compileScenario } from '../sim/scenario/compile.ts';
import { resolvePreset } from '../sim/variants/resolve.ts';
import { estimateSteps } from '../sim/schedule/strategy.ts';
import { runSeeds } from '../sim/fuzz.ts';
import { FarmClient } from '../farm/client.ts';
import { TestRedis } from './helpers/redis.ts';
import { startCoordinatorProc, startWorkerProc, type FarmProc } from './helpers/farm.ts';

/** A throwaway CA and a server certificate for 127.0.0.1 / localhost. */
function makeCerts(dir: string): { ca: string; cert: string; key: string } | null {
  const run = (args: string[]) => spawnSync('openssl', args, { cwd: dir, stdio: 'ignore' }).status === 0;
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  const ok =
    run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=racefarm-test-ca']) &&
    run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']) &&
    run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'ext.cnf']);
  return ok ? { ca: join(dir, 'ca.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server.key') } : null;
}

describe('farm over rediss:// with a password', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'racefarm-tls-'));
  let redis: TestRedis | undefined;
  const procs: FarmProc[] = [];
  let client: FarmClient | undefined;

  before(async function () {
    const certs = makeCerts(dir);
    if (!certs) this.skip();
    redis = await TestRedis.start({ password: 'p@ss:w/rd s3cret', tls: certs! });
    const env = { NODE_EXTRA_CA_CERTS: certs!.ca };
    const c = await startCoordinatorProc(redis.url, { env });
    procs.push(c.proc, await startWorkerProc(redis.url, { env }));
    client = new FarmClient(c.address);
  });

  after(async () => {
    client?.close();
    await Promise.all(procs.map((p) => p.stop()));
    await redis?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('uses a TLS, password-protected Redis from the URL alone, with exact totals', async () => {
    assert.match(redis!.url, /^rediss:\/\/:[^@]+@127\.0\.0\.1:\d+$/);
    assert.equal(await client!.healthCheck(), 'SERVING');
    const started = await client!.startCampaign({ scenario_name: 'cow-two-pages', variant_preset: 'range-end-only', seed_count: '3000', batch_size: 500 });
    const last = await client!.watchCampaign(started.id, () => {}, 45_000);
    const sc = compileScenario(catalogEntry('cow-two-pages')!.scenario);
    const v = resolvePreset('range-end-only');
    const local = runSeeds(sc, v, { name: 'random', depth: 3, kSteps: estimateSteps(sc, v.sites) }, 0, 3000);
    assert.equal(last?.state, 'done');
    assert.equal(last?.schedules, 3000);
    assert.equal(last?.steps, local.steps);
  });
});
