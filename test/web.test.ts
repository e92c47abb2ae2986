import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FarmClient } from '../cli/farmClient.ts';
import { CATALOG } from '../sim/scenario/catalog.ts';
import { firstCatalogFinding } from '../sim/shrink/catalogFinding.ts';
import { replayFinding } from '../sim/replay.ts';
import type { Finding } from '../sim/finding.ts';
import { TestRedis } from './helpers/redis.ts';
import { startCoordinatorProc, startWorkerProc, until, type FarmProc } from './helpers/farm.ts';
import { CHROMIUM, consoleLines, runChromium } from './helpers/chromium.ts';

const ARTIFACTS = resolve('test-artifacts');
const TOKEN = 'web-view-test-token';

/** The rows of the findings table, as attributes (`data-signature`, `data-oracle`, …). */
function findingRows(page: string): Record<string, string>[] {
  return [...page.matchAll(/<tr class="finding"([^>]*)>/g)].map((m) => Object.fromEntries([...m[1].matchAll(/data-([a-z]+)="([^"]*)"/g)].map((a) => [a[1], a[2]])));
}

describe('findings web view: a real coordinator with real findings', function () {
  this.timeout(240_000);
  let redis: TestRedis;
  let coordinator: FarmProc;
  let worker: FarmProc;
  let client: FarmClient;
  let web = '';
  const campaigns: string[] = [];
  let cow: Finding;
  let svm: Finding;

  /** GET with the bearer header (what curl does). */
  const get = (path: string, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) => fetch(new URL(path, web), { headers, redirect: 'manual' });

  before(async function () {
    // The lowest seed of each race, found locally (deterministic), so the campaigns can be tiny.
    cow = firstCatalogFinding(CATALOG.find((e) => e.scenario.name === 'cow-two-pages')!, 20000, 'random', 500);
    svm = firstCatalogFinding(CATALOG.find((e) => e.scenario.name === 'intel-svm-cow')!, 20000, 'random', 500);
    redis = await TestRedis.start();
    const c = await startCoordinatorProc(redis.url, { token: TOKEN, env: { RACEFARM_METRICS: '127.0.0.1:0' } });
    coordinator = c.proc;
    web = (await coordinator.waitFor(/coordinator metrics on (\S+)/))[1].replace(/\/metrics$/, '/');
    worker = await startWorkerProc(redis.url);
    client = new FarmClient(c.address, { token: TOKEN });
    // Two campaigns hit the cow race (one range around its seed, one with that seed alone), one the intel-svm race.
    const start = async (f: Finding, seedStart: number, seedCount: number) => {
      const r = await client.startCampaign({ scenario_name: f.scenario.name, variant_preset: f.variant.name, strategy: 'random', seed_start: String(seedStart), seed_count: String(seedCount), batch_size: 50 });
      campaigns.push(r.id);
    };
    await start(cow, Math.max(0, cow.seed - 60), 100);
    await start(cow, cow.seed, 1);
    await start(svm, svm.seed, 20);
    for (const id of campaigns) await until(async () => (await client.getCampaign(id)).state === 'done', 120_000, `campaign ${id} done`, 200);
  });

  after(async () => {
    client?.close();
    await Promise.all([worker, coordinator].filter(Boolean).map((p) => p.stop()));
    await redis?.destroy();
  });

  it('refuses every page without the token (401 with the login form), with a wrong token, or a wrong cookie; /metrics and /healthz stay open', async () => {
    for (const path of ['/', '/findings', `/findings/${cow.signature}`, `/findings/${cow.signature}/found.json`]) {
      const r = await get(path, {});
      assert.equal(r.status, 401, path);
      const body = await r.text();
      assert.match(body, /<form method="post" action="\/login"/);
      assert.doesNotMatch(body, new RegExp(cow.signature.slice(0, 8) + '.*<td'), 'no finding data on the refusal page');
      assert.equal((await get(path, { authorization: 'Bearer nope' })).status, 401);
      assert.equal((await get(path, { cookie: 'racefarm_session=forged' })).status, 401);
      assert.equal((await get(`${path}${path.includes('?') ? '&' : '?'}token=nope`, {})).status, 401);
      // The gRPC token itself is no session cookie: the cookie is derived from it.
      assert.equal((await get(path, { cookie: `racefarm_session=${TOKEN}` })).status, 401);
    }
    assert.equal((await get('/metrics', {})).status, 200);
    assert.equal((await get('/healthz', {})).status, 200);
  });

  it('logs a browser in: ?token= and the login form set a session cookie and redirect without the token', async () => {
    const r = await get('/findings?class=observable&token=' + TOKEN, {});
    assert.equal(r.status, 303);
    assert.equal(r.headers.get('location'), '/findings?class=observable');
    const cookie = r.headers.get('set-cookie')!;
    assert.match(cookie, /^racefarm_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict$/);
    assert.ok(!cookie.includes(TOKEN));
    assert.equal((await get('/findings', { cookie: cookie.split(';')[0] })).status, 200);

    const form = await fetch(new URL('/login', web), { method: 'POST', body: new URLSearchParams({ token: TOKEN, next: '/findings' }), redirect: 'manual' });
    assert.equal(form.status, 303);
    assert.equal(form.headers.get('location'), '/findings');
    assert.equal(form.headers.get('set-cookie'), cookie);
    const wrong = await fetch(new URL('/login', web), { method: 'POST', body: new URLSearchParams({ token: 'nope', next: '/' }), redirect: 'manual' });
    assert.equal(wrong.status, 401);
    // Never a redirect off the coordinator.
    const off = await fetch(new URL('/login', web), { method: 'POST', body: new URLSearchParams({ token: TOKEN, next: '//evil.example/' }), redirect: 'manual' });
    assert.equal(off.headers.get('location'), '/');
  });

  it('/ lists the campaigns with their progress and unique findings by class', async () => {
    const r = await get('/');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    const page = await r.text();
    for (const id of campaigns) {
      const row = new RegExp(`<tr data-campaign="${id}" data-state="done">[\\s\\S]*?</tr>`).exec(page);
      assert.ok(row, `row of ${id}`);
      assert.match(row[0], /<progress max="(\d+)" value="\1"><\/progress>/, 'all jobs recorded');
      const c = await client.getCampaign(id);
      const observable = Number(/data-class="observable">(?:<a [^>]*>)?(\d+)/.exec(row[0])![1]);
      const invariant = Number(/data-class="invariant">(?:<a [^>]*>)?(\d+)/.exec(row[0])![1]);
      const limit = Number(/data-class="limit">(?:<a [^>]*>)?(\d+)/.exec(row[0])![1]);
      assert.equal(observable + invariant + limit, c.uniqueSignatures, `${id}: classes add up to its unique signatures`);
      assert.match(row[0], /not collected/, 'no coverage asked for');
    }
  });

  it('/findings lists every unique finding once with the campaigns that hit it; the filter narrows it', async () => {
    const all = await client.listFindings();
    const page = await (await get('/findings')).text();
    const rows = findingRows(page);
    assert.deepEqual(rows.map((r) => r.signature).sort(), [...new Set(all.map((f) => f.signature))].sort());
    const cowRow = new RegExp(`<tr class="finding" data-signature="${cow.signature}"[\\s\\S]*?</tr>`).exec(page)![0];
    // Both cow campaigns hit its race; the lowest seed is the one found locally.
    for (const id of campaigns.slice(0, 2)) assert.ok(cowRow.includes(`>${id}</a>`), `campaign ${id} listed`);
    assert.ok(!cowRow.includes(`>${campaigns[2]}</a>`));
    assert.match(cowRow, new RegExp(`<td class="num">${cow.seed}</td>`));
    assert.match(cowRow, /<td>minimized<\/td>/);

    const scenarios = new Set(rows.map((r) => r.scenario));
    assert.deepEqual([...scenarios].sort(), ['cow-two-pages', 'intel-svm-cow']);
    for (const [field, value] of [['scenario', 'intel-svm-cow'], ['oracle', cow.oracle], ['class', 'observable']] as const) {
      const got = findingRows(await (await get(`/findings?${field}=${encodeURIComponent(value)}`)).text());
      assert.ok(got.length > 0, `filter ${field}=${value} keeps something`);
      assert.deepEqual(got, rows.filter((r) => r[field] === value), `filter ${field}=${value}`);
    }
    assert.ok(findingRows(await (await get('/findings?scenario=intel-svm-cow')).text()).length < rows.length, 'the scenario filter narrows');
    const oneSeed = findingRows(await (await get(`/findings?campaign=${campaigns[1]}`)).text());
    assert.deepEqual(oneSeed.map((r) => r.signature), [cow.signature], 'the one-seed campaign found only the cow race');
    const text = findingRows(await (await get(`/findings?q=${cow.signature.slice(2, 10).toUpperCase()}`)).text());
    assert.deepEqual(text.map((r) => r.signature), [cow.signature]);
    const bad = await get('/findings?class=dangerous');
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /class: &quot;dangerous&quot; is not one of observable, invariant, limit/);
  });

  it('/findings/<signature> downloads the finding files, which replay', async () => {
    const found = await get(`/findings/${cow.signature}/found.json`);
    assert.equal(found.status, 200);
    assert.equal(found.headers.get('content-disposition'), `attachment; filename="cow-two-pages-${cow.signature}.json"`);
    const f = (await found.json()) as Finding;
    assert.equal(f.seed, cow.seed);
    assert.deepEqual(f.decisions, cow.decisions);
    const min = await get(`/findings/${cow.signature}/minimized.json`);
    assert.equal(min.status, 200);
    const m = (await min.json()) as Finding;
    assert.equal(m.signature, cow.signature);
    assert.ok(replayFinding(m).reproduced, 'the minimized file replays');
    assert.equal((await get('/findings/0123456789abcdef')).status, 404);
    assert.equal((await get('/findings/not-a-signature')).status, 404);
  });

  it('escapes what it shows: a campaign name with markup', async () => {
    const evil = '<img src=x onerror=alert(1)>"\'&';
    const r = await client.startCampaign({ name: evil, scenario_name: cow.scenario.name, variant_preset: cow.variant.name, strategy: 'random', seed_start: String(cow.seed), seed_count: '1', batch_size: 1 });
    await until(async () => (await client.getCampaign(r.id)).state === 'done', 60_000, 'named campaign done', 200);
    const page = await (await get('/')).text();
    assert.ok(!page.includes('<img'), 'no markup from the name');
    assert.ok(page.includes('&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;'));
    campaigns.push(r.id);
  });

  describe('in headless Chromium', () => {
    const dom = (path: string, name: string) => {
      const sep = path.includes('?') ? '&' : '?';
      const r = runChromium(['--dump-dom'], new URL(`${path}${sep}token=${TOKEN}`, web).href);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(consoleLines(r.stderr), [], `${path}: console messages`);
      mkdirSync(ARTIFACTS, { recursive: true });
      writeFileSync(join(ARTIFACTS, `web-${name}.html`), r.stdout);
      return r.stdout;
    };

    beforeEach(function () {
      if (!CHROMIUM) this.skip(); // chromium not installed: apt-get install -y chromium (or set CHROMIUM=/path)
    });

    it('the campaigns page and the findings list load with no console errors (logged in by ?token=)', () => {
      const home = dom('/', 'campaigns');
      for (const id of campaigns) assert.ok(home.includes(`data-campaign="${id}"`), id);
      const list = dom('/findings', 'findings');
      assert.ok(findingRows(list).some((r) => r.signature === cow.signature));
    });

    it('the filter works in the browser: /findings?scenario=intel-svm-cow shows only that scenario', () => {
      const rows = findingRows(dom('/findings?scenario=intel-svm-cow', 'findings-filtered'));
      assert.ok(rows.length > 0);
      assert.ok(rows.every((r) => r.scenario === 'intel-svm-cow'), JSON.stringify(rows));
      assert.ok(rows.some((r) => r.signature === svm.signature));
    });

    it('the trace page of a real finding renders: the script ran, the violation is highlighted, the download links are there', () => {
      const page = dom(`/findings/${cow.signature}`, 'trace');
      assert.match(page, /<body data-ready="1">/, 'the trace page script ran to the end');
      assert.match(page, /class="step violation[^"]*selected/, 'the violation row is highlighted and pinned');
      assert.match(page, /class="stale"/, 'the state panel marks the stale entry');
      assert.match(page, new RegExp(`<title>${cow.oracle} in cow-two-pages \\(range-end-only\\)</title>`));
      assert.match(page, /id="download-found" href="\/findings\/[0-9a-f]+\/found.json"/);
      assert.match(page, /id="download-minimized"/);
      assert.match(page, /id="finding-status">minimized</);
      const shot = runChromium([`--screenshot=${join(ARTIFACTS, 'web-trace.png')}`], new URL(`/findings/${cow.signature}?token=${TOKEN}`, web).href);
      assert.equal(shot.status, 0, shot.stderr);
    });

    it('without the token the browser gets the login page', () => {
      const r = runChromium(['--dump-dom'], new URL('/findings', web).href);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /This coordinator needs its token/);
      assert.equal(findingRows(r.stdout).length, 0);
    });
  });
});
