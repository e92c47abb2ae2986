import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { connectRedis } from '../farm/config.ts';
import { keys } from '../farm/keys.ts';
import { FarmClient } from '../cli/farmClient.ts';
import { TestRedis } from './helpers/redis.ts';
import { runProcess } from './helpers/run.ts';
import { fileURLToPath } from 'node:url';
import { compiledModule } from '../farm/compiled.ts';
import { ROOT, runFarmCli, startCoordinatorProc, type FarmProc } from './helpers/farm.ts';

/** The local CLI (`racefarm fuzz …`): compiled JavaScript when dist/ is current, else the sources through tsx. */
const compiledCli = compiledModule(new URL('../cli/main.ts', import.meta.url));
const localCli = (...args: string[]) => runProcess(process.execPath, [...(compiledCli ? [fileURLToPath(compiledCli)] : ['--import', 'tsx', 'cli/main.ts']), ...args], ROOT);

/** Raw control characters (ESC, CSI, BEL, NUL…) or lone surrogates: what must never reach a terminal. */
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const ESC_NAME = '\u001b[2J\u001b[31mowned\u0007\u009b1m';

/**
 * Terminal injection and output amplification (issue "Terminal injection"): every CLI path that
 * echoes coordinator or user text escapes control characters and lone surrogates, caps fields and
 * caps the number of problems listed. Real redis-server, coordinator and CLI processes.
 */
describe('farm CLI output: escaped, capped, bounded', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'racefarm-output-'));
  let redis: TestRedis;
  let coordinator: FarmProc;
  let address = '';
  let conn: Redis;

  before(async () => {
    redis = await TestRedis.start();
    const c = await startCoordinatorProc(redis.url);
    coordinator = c.proc;
    address = c.address;
    conn = connectRedis(redis.url);
  });

  after(async () => {
    await conn?.quit().catch(() => conn.disconnect());
    await coordinator?.stop();
    await redis?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const cli = (...args: string[]) => runFarmCli([...args, '--coordinator', address]);

  it('an ESC sequence in a campaign name, a failed range and an oracle never reaches stdout raw (status, list, watch, cancel, --json)', async () => {
    const client = new FarmClient(address);
    let id: string;
    try {
      id = (await client.startCampaign({ scenario_name: 'cow-two-pages', seed_count: '10', batch_size: 5, name: 'plain' })).id;
      await client.cancelCampaign(id);
    } finally {
      client.close();
    }
    // The coordinator refuses such a name (StartCampaign), so it is written the way an older or
    // foreign writer could have: straight into Redis. The CLI must not trust what it reads back.
    await conn.hset(keys.campaign(id), 'name', ESC_NAME);
    await conn.hset(keys.failed(id), '5', JSON.stringify({ seedCount: 5, error: `boom ${ESC_NAME} ${'E'.repeat(100_000)}` }));
    // (A lone surrogate cannot be stored: Redis holds UTF-8, so it comes back as U+FFFD.)
    await conn.hset(keys.oracles(id), `evil${ESC_NAME}`, '1');

    const commands = [['campaign', 'status', id], ['campaign', 'list'], ['campaign', 'watch', id], ['campaign', 'cancel', id], ['campaign', 'status', id, '--json'], ['campaign', 'list', '--json'], ['campaign', 'watch', id, '--json']];
    // Independent read-only processes: run them together.
    const ran = await Promise.all(commands.map((args) => cli(...args)));
    for (const [k, args] of commands.entries()) {
      const r = ran[k];
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.err}`);
      assert.ok(!RAW.test(r.out), `${args.join(' ')}: raw control character in ${JSON.stringify(r.out.slice(0, 300))}`);
      assert.ok(!RAW.test(r.err), `${args.join(' ')}: raw control character on stderr`);
      if (!args.includes('--json')) {
        assert.ok(r.out.length < 8000, `${args.join(' ')}: ${r.out.length} characters for one campaign`);
        assert.match(r.out, /\\u001b\[2J/, `${args.join(' ')}: the name is shown, escaped`);
      } else {
        // JSON output stays JSON with the same value: only its spelling is escaped.
        const first = JSON.parse(r.out.split('\n')[0]);
        const view = first.progress ?? first;
        assert.equal(view.name, ESC_NAME);
      }
    }
    const status = ran[0];
    assert.match(status.out, /boom \\u001b\[2J\\u001b\[31mowned\\u0007\\u009b1m E+… \(\d+ more characters\)/, 'the failed range error is escaped and capped');
  });

  it('a request naming 100,000 unknown sites prints a bounded number of lines (campaign start and local fuzz)', async () => {
    const sites: Record<string, number> = {};
    for (let i = 0; i < 100_000; i++) sites[i.toString(36)] = 0;
    const file = join(dir, 'many-sites.json');
    writeFileSync(file, JSON.stringify({ name: 'many', sites }));
    const r = await cli('campaign', 'start', '--scenario', 'cow-two-pages', '--variant', file, '--seeds', '10');
    assert.equal(r.code, 2, r.err.slice(0, 500));
    assert.match(r.err, /INVALID_ARGUMENT: .*variant_json\.sites\.0: unknown site/);
    assert.match(r.err, /… and 99980 more/);
    assert.ok(r.err.length < 20_000, `${r.err.length} characters on stderr`);
    assert.ok(r.err.split('\n').length <= 30, `${r.err.split('\n').length} lines on stderr`);
    assert.equal(await conn.zcard(keys.campaigns), 1, 'nothing created (only the first test\'s campaign)');

    const local = await localCli('fuzz', '--scenario', 'cow-two-pages', '--variant', file, '--seeds', '1');
    assert.equal(local.code, 2, local.stderr.slice(0, 500));
    assert.match(local.stderr, /sites\.0: unknown site/);
    assert.match(local.stderr, /… and 99980 more/);
    assert.ok(local.stderr.split('\n').length <= 30, `local fuzz: ${local.stderr.split('\n').length} lines on stderr`);
  });

  it('a 10 MB key is not echoed back (local fuzz, campaign start), and an ESC name in an error is escaped', async () => {
    const key = `K${'\u001b[31m'.repeat(10)}${'k'.repeat(10 * 1024 * 1024)}`;
    const file = join(dir, 'huge-key.json');
    writeFileSync(file, JSON.stringify({ name: 'huge', sites: { [key]: true } }));
    const local = await localCli('fuzz', '--scenario', 'cow-two-pages', '--variant', file, '--seeds', '1');
    assert.equal(local.code, 2, local.stderr.slice(0, 500));
    assert.match(local.stderr, /unknown site/);
    assert.ok(local.stderr.length < 4000, `local fuzz: ${local.stderr.length} characters on stderr`);
    assert.ok(!RAW.test(local.stderr), 'local fuzz: raw ESC on stderr');

    const farm = await cli('campaign', 'start', '--scenario', 'cow-two-pages', '--variant', file, '--seeds', '10');
    assert.notEqual(farm.code, 0);
    assert.ok(farm.err.length < 20_000, `campaign start: ${farm.err.length} characters on stderr`);
    assert.ok(!RAW.test(farm.err), 'campaign start: raw ESC on stderr');

    const named = await cli('campaign', 'start', '--scenario', 'cow-two-pages', '--name', ESC_NAME, '--seeds', '10');
    assert.equal(named.code, 2, named.err);
    assert.match(named.err, /INVALID_ARGUMENT: name: .*control characters/);
    assert.ok(!RAW.test(named.err), `raw ESC on stderr: ${JSON.stringify(named.err)}`);
    assert.ok(coordinator.alive, coordinator.err);
  });

  it('"sites": null in a variant is refused with the field named, like any other non-object', async () => {
    const file = join(dir, 'null-sites.json');
    writeFileSync(file, '{"name":"n","sites":null}');
    const r = await cli('campaign', 'start', '--scenario', 'cow-two-pages', '--variant', file, '--seeds', '10');
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /INVALID_ARGUMENT: variant_json\.sites: must be an object of site → choice, got null/);
    const pages = join(dir, 'proto-pages.json');
    writeFileSync(pages, '{"name":"p","pages":{"__proto__":{"cells":[0]},"A":{"cells":[0]}},"threads":[{"name":"t","ops":[["read","A",0]]}]}');
    const p = await cli('campaign', 'start', '--scenario', pages, '--seeds', '10');
    assert.equal(p.code, 2, p.err);
    assert.match(p.err, /scenario_json\.pages\.__proto__: "__proto__" is not allowed as a name/);
  });

  // Last: its comparison starts a campaign, which the tests above would count.
  it('an ESC sequence in a comparison name or a cell error never reaches stdout raw (campaign status of a comparison)', async () => {
    const client = new FarmClient(address);
    let id: string;
    try {
      id = (await client.startComparison({ name: 'plain', scenarios: [{ name: 'cow-two-pages' }], variants: [{ preset: 'v4.13' }], preemptions: 1, seeds: 10, max_schedules: '10' })).id;
    } finally {
      client.close();
    }
    // Written into Redis as a foreign writer could: the CLI must not trust what it reads back.
    await conn.hset(keys.comparison(id), 'name', ESC_NAME);
    await conn.hset(keys.comparisonCells(id), '0', JSON.stringify({ state: 'failed', campaigns: [`c${ESC_NAME}`], result: null, error: `boom ${ESC_NAME}` }));
    const r = await cli('campaign', 'status', id);
    assert.equal(r.code, 0, r.err);
    assert.ok(!RAW.test(r.out), `raw control character in ${JSON.stringify(r.out.slice(0, 300))}`);
    assert.match(r.out, /boom \\u001b\[2J/, 'the cell error is shown, escaped');
    assert.match(r.out, /comparison \S+ \(\\u001b\[2J/, 'the name is shown, escaped');
  });
});
