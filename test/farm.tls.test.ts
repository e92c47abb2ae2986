import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalogEntry } from '../sim/scenario/catalog.ts';
import { compileScenario } from '../sim/scenario/compile.ts';
import { resolvePreset } from '../sim/variants/resolve.ts';
import { estimateSteps } from '../sim/schedule/strategy.ts';
import { runSeeds } from '../sim/fuzz.ts';
import { FarmClient } from '../cli/farmClient.ts';
import { makeCerts } from './helpers/certs.ts';
import { TestRedis } from './helpers/redis.ts';
import { startCoordinatorProc, startWorkerProc, type FarmProc } from './helpers/farm.ts';

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
