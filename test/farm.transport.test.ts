import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { FarmClient } from '../cli/farmClient.ts';
import { makeCerts } from './helpers/certs.ts';
import { TestRedis } from './helpers/redis.ts';
import { FAST_LOCKS, farmProcess, runFarmCli, type FarmProc } from './helpers/farm.ts';

const TOKEN = 'tok-transport';
const METRICS_TOKEN = 'tok-metrics';

/**
 * gRPC over TLS with a server certificate, the warning for an exposed plaintext coordinator, and
 * the optional /metrics token — real coordinator processes, a certificate made by openssl here.
 */
describe('farm transport: gRPC TLS, exposure warning, metrics token', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'racefarm-transport-'));
  let certs: ReturnType<typeof makeCerts>;
  let redis: TestRedis;
  const procs: FarmProc[] = [];

  before(async function () {
    certs = makeCerts(dir);
    if (!certs) this.skip(); // openssl missing: apt-get install -y openssl
    redis = await TestRedis.start();
  });

  after(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await redis?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves gRPC over TLS to a client that trusts the CA (FarmClient and CLI), refuses plaintext, and guards /metrics with its token', async () => {
    const p = farmProcess(
      ['coordinator', '--redis', redis.url, '--grpc', '127.0.0.1:0', '--token', TOKEN, '--tls-cert', certs!.cert, '--tls-key', certs!.key, '--metrics', '127.0.0.1:0', '--metrics-token', METRICS_TOKEN],
      FAST_LOCKS,
    );
    procs.push(p);
    const address = (await p.waitFor(/coordinator listening on (\S+)/))[1];
    const metricsUrl = (await p.waitFor(/coordinator metrics on (\S+)/))[1];
    assert.match(p.out, /listening on 127\.0\.0\.1:\d+ \(TLS\)/);
    assert.doesNotMatch(p.err, /warning:/, 'loopback: no exposure warning');

    const tls = new FarmClient(address, { token: TOKEN, tlsCa: readFileSync(certs!.ca), timeoutMs: 10_000 });
    const plain = new FarmClient(address, { token: TOKEN, timeoutMs: 3000 });
    try {
      assert.equal(await tls.healthCheck(), 'SERVING');
      const c = await tls.startCampaign({ scenario_name: 'cow-two-pages', seed_count: '10', batch_size: 10 });
      assert.equal((await tls.getCampaign(c.id)).id, c.id);
      await assert.rejects(plain.healthCheck(), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE);
    } finally {
      tls.close();
      plain.close();
    }

    const ok = await runFarmCli(['campaign', 'list', '--coordinator', address, '--token', TOKEN, '--tls-ca', certs!.ca]);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /^\S+ (pending|running): 0\/1 jobs/);
    const viaEnv = await runFarmCli(['campaign', 'list', '--coordinator', address], { RACEFARM_TOKEN: TOKEN, RACEFARM_TLS_CA: certs!.ca });
    assert.equal(viaEnv.code, 0, viaEnv.err);
    const noCa = await runFarmCli(['campaign', 'list', '--coordinator', address, '--token', TOKEN]);
    assert.equal(noCa.code, 4, 'a plaintext client cannot talk to a TLS coordinator: a farm error (exit 4)');
    assert.match(noCa.err, /cannot reach the coordinator at /);
    const badCa = await runFarmCli(['campaign', 'list', '--coordinator', address, '--token', TOKEN, '--tls-ca', join(dir, 'missing.pem')]);
    assert.equal(badCa.code, 2, badCa.err);
    assert.match(badCa.err, /--tls-ca: .*missing\.pem/);

    // /metrics: 401 without the metrics token (or with the gRPC one), 200 with it; /healthz stays open.
    assert.equal((await fetch(metricsUrl)).status, 401);
    assert.equal((await fetch(metricsUrl, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 401);
    const m = await fetch(metricsUrl, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    assert.equal(m.status, 200);
    assert.match(await m.text(), /racefarm_/);
    assert.equal((await fetch(metricsUrl.replace(/\/metrics$/, '/healthz'))).status, 200);
  });

  it('warns when gRPC listens beyond loopback with no token and no TLS; --tls-cert without --tls-key is refused', async () => {
    const open = farmProcess(['coordinator', '--redis', redis.url, '--grpc', '0.0.0.0:0', '--metrics', 'off'], FAST_LOCKS);
    procs.push(open);
    await open.waitFor(/coordinator listening on/);
    await new Promise((r) => setTimeout(r, 200));
    assert.match(open.err, /warning: gRPC on 0\.0\.0\.0 \(not loopback\) has no --token and no TLS/);
    await open.stop();

    const half = await runFarmCli(['coordinator', '--redis', redis.url, '--grpc', '127.0.0.1:0', '--metrics', 'off', '--tls-cert', certs!.cert]);
    assert.equal(half.code, 2, 'bad input: exit 2');
    assert.match(half.err, /--tls-cert and --tls-key go together/);
  });
});
