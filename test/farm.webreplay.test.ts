import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import type { Finding } from '../sim/finding.ts';
import { connectRedis } from '../farm/config.ts';
import { keys } from '../farm/keys.ts';
import { FarmClient } from '../cli/farmClient.ts';
import { TestRedis } from './helpers/redis.ts';
import { startCoordinatorProc, type FarmProc } from './helpers/farm.ts';
import { livelockFinding } from './helpers/livelock.ts';

/** Records a finding the way the farm's fuzz result does (farm/store.ts RECORD_FUZZ), status queued. */
async function putFinding(conn: Redis, f: Finding, campaign: string): Promise<void> {
  await conn.hset(keys.finding(f.signature), { signature: f.signature, oracle: f.oracle, status: 'queued', raw: JSON.stringify(f), campaign, seed: String(f.seed), createdAt: String(Date.now()) });
  await conn.zadd(keys.findings, Date.now(), f.signature);
  await conn.sadd(keys.findingCampaigns(f.signature), campaign);
}

/**
 * The web view's finding page replays off the coordinator's event loop (its simulation thread)
 * and is bounded: real coordinator, real HTTP, findings of 10,000 and 40,000 steps.
 */
describe('farm web view: finding pages replay off the event loop, bounded', function () {
  this.timeout(60_000);
  let redis: TestRedis;
  let coordinator: FarmProc;
  let address = '';
  let web = '';
  let conn: Redis;
  let long: Finding;
  let tooLong: Finding;

  before(async () => {
    long = livelockFinding(10_000);
    tooLong = livelockFinding(40_000);
    redis = await TestRedis.start();
    const c = await startCoordinatorProc(redis.url, { env: { RACEFARM_METRICS: '127.0.0.1:0' } });
    coordinator = c.proc;
    address = c.address;
    web = (await coordinator.waitFor(/coordinator metrics on (\S+)\/metrics/))[1];
    conn = connectRedis(redis.url);
    await putFinding(conn, long, 'c1');
  });

  after(async () => {
    await conn?.quit().catch(() => conn.disconnect());
    await coordinator?.stop();
    await redis?.destroy();
  });

  it('serves the HTML trace of a 10,000-step finding while /healthz and gRPC health keep answering', async () => {
    const client = new FarmClient(address, { timeoutMs: 10_000 });
    let rendering = true;
    const pings: number[] = [];
    const ping = (async () => {
      while (rendering) {
        const t0 = performance.now();
        const [h, g] = await Promise.all([fetch(`${web}/healthz`), client.healthCheck()]);
        assert.equal(h.status, 200);
        assert.equal(g, 'SERVING');
        pings.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      const t0 = performance.now();
      const res = await fetch(`${web}/findings/${long.signature}?show=found`);
      const body = await res.text();
      const pageMs = performance.now() - t0;
      rendering = false;
      await ping;
      assert.equal(res.status, 200);
      assert.match(body, /id="violation"/, 'the trace marks the violating step');
      assert.ok(body.length > 1_000_000, `a full trace (${body.length} characters)`);
      assert.ok(pings.length >= 3, `${pings.length} health checks during a ${Math.round(pageMs)} ms page`);
      const worst = Math.max(...pings);
      // On the event loop the replay would hold every health check for its whole duration.
      assert.ok(worst < pageMs / 2, `health answered within ${Math.round(worst)} ms during a ${Math.round(pageMs)} ms render`);
      console.log(`      page ${body.length} chars in ${Math.round(pageMs)} ms; ${pings.length} health checks, worst ${Math.round(worst)} ms`);
      // Then from the cache.
      const again = await fetch(`${web}/findings/${long.signature}?show=found`);
      assert.equal(await again.text(), body);
    } finally {
      rendering = false;
      await ping.catch(() => {});
      client.close();
    }
  });

  it('does not replay a run longer than the web view bounds: the page says why and offers the files', async () => {
    // The 40,000-step run has the same signature as the 10,000-step one (same race, same
    // participants): it replaces the record, as another campaign's lower seed would.
    assert.equal(tooLong.signature, long.signature);
    await putFinding(conn, tooLong, 'c2');
    const t0 = performance.now();
    const res = await fetch(`${web}/findings/${tooLong.signature}`);
    const body = await res.text();
    assert.equal(res.status, 200);
    assert.match(body, /id="no-trace"/);
    assert.match(body, /the run is 40000 steps long, more than the web view replays \(20000\)/);
    assert.match(body, new RegExp(`/findings/${tooLong.signature}/found\\.json`));
    assert.ok(body.length < 100_000, `${body.length} characters`);
    assert.ok(performance.now() - t0 < 5000, 'answered without a replay');
    assert.ok(coordinator.alive, coordinator.err);
  });

  it('a replay stopped by the simulation thread\'s time limit answers 503 Busy with retry-after and the file links; the coordinator lives on', async () => {
    // A second coordinator on the same Redis whose simulation thread stops any task after 1 ms.
    const c = await startCoordinatorProc(redis.url, { env: { RACEFARM_METRICS: '127.0.0.1:0', RACEFARM_SIM_TIMEOUT_MS: '1' } });
    try {
      const hurried = (await c.proc.waitFor(/coordinator metrics on (\S+)\/metrics/))[1];
      await putFinding(conn, long, 'c3');
      const res = await fetch(`${hurried}/findings/${long.signature}?show=found`);
      const body = await res.text();
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '10');
      assert.match(body, /id="busy"[^>]*>the simulation took longer than 1 ms and was stopped/);
      assert.match(body, new RegExp(`/findings/${long.signature}/found\\.json`));
      assert.equal((await fetch(`${hurried}/healthz`)).status, 200);
      // Not cached as an answer: the same page asks the thread again (and is refused again).
      assert.equal((await fetch(`${hurried}/findings/${long.signature}?show=found`)).status, 503);
      assert.ok(c.proc.alive, c.proc.err);
    } finally {
      await c.proc.stop();
    }
  });
});
