import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenario, loadVariant } from '../cli/inputs.ts';
import { DEFAULT_GRPC, DEFAULT_REDIS_URL } from '../farm/config.ts';
import { TestFarm } from './helpers/testFarm.ts';
import { runFarmCli, until, type FarmProc } from './helpers/farm.ts';

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** A process's output lines, stdout and stderr together, without the log timestamp. */
const lines = (p: FarmProc) => (p.out + p.err).split('\n').filter((l) => l !== '').map((l) => l.replace(/^\d{4}-\d\d-\d\dT[\d:.]+Z /, ''));

describe('farm command line: errors on one line with their own exit status, logs once, documented output', function () {
  this.timeout(90_000);

  it('an unreachable coordinator: one line naming the address and why, exit 4', async () => {
    const port = await closedPort();
    for (const cmd of [['campaign', 'list'], ['campaign', 'status', 'c1']]) {
      const r = await runFarmCli([...cmd, '--coordinator', `127.0.0.1:${port}`]);
      assert.equal(r.code, 4, `${cmd.join(' ')}: ${r.err}`);
      assert.equal(r.err, `racefarm: cannot reach the coordinator at 127.0.0.1:${port}: connection refused\n`);
      assert.equal(r.out, '');
    }
  });

  it('--help shows the --redis and --coordinator defaults', async () => {
    for (const cmd of ['coordinator', 'worker']) {
      const r = await runFarmCli([cmd, '--help']);
      assert.equal(r.code, 0, r.err);
      assert.ok(r.out.replace(/\s+/g, ' ').includes(`default ${DEFAULT_REDIS_URL}`), r.out);
    }
    const r = await runFarmCli(['campaign', 'list', '--help']);
    assert.ok(r.out.replace(/\s+/g, ' ').includes(`default ${DEFAULT_GRPC}`), r.out);
  });

  describe('against a real farm', () => {
    let farm: TestFarm;
    let worker: FarmProc;
    let id = '';
    before(async () => {
      farm = await TestFarm.start();
      worker = await farm.addWorker();
    });
    after(async () => farm?.stop());

    it('what the farm does not have exits 2 (NOT_FOUND), one line', async () => {
      const r = await runFarmCli(['campaign', 'status', 'nosuchcampaign', '--coordinator', farm.address]);
      assert.equal(r.code, 2, r.err);
      assert.equal(r.err, 'racefarm: NOT_FOUND: id: no campaign "nosuchcampaign"\n');
    });

    it('campaign findings --json prints one JSON object per line (NDJSON) with the documented keys', async () => {
      const s = await runFarmCli(['campaign', 'start', '--scenario', 'cow-two-pages', '--variant', 'range-end-only', '--seed-start', '2000', '--seeds', '1000', '--coordinator', farm.address]);
      assert.equal(s.code, 0, s.err);
      id = s.out.trim();
      await until(async () => (await farm.client.getCampaign(id)).state === 'done', 60_000, 'the campaign done');
      for (const args of [['campaign', 'findings', id], ['campaign', 'findings']]) {
        const r = await runFarmCli([...args, '--json', '--coordinator', farm.address]);
        assert.equal(r.code, 0, r.err);
        const rows = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
        assert.ok(rows.length >= 1 && rows.every((o) => typeof o === 'object' && !Array.isArray(o)));
        for (const o of rows) assert.deepEqual(Object.keys(o).sort(), ['campaign', 'message', 'oracle', 'scenario', 'seed', 'signature', 'status', 'variant']);
        assert.ok(rows.some((o) => o.oracle === 'stale-read' && o.seed === 2041 && o.campaign === id));
      }
    });

    it('a variant file without a name is named by its file name, locally and on the farm', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'racefarm-variant-'));
      try {
        const file = join(dir, 'my-variant.json');
        writeFileSync(file, JSON.stringify({ base: 'range-end-only' }));
        const named = join(dir, 'other.json');
        writeFileSync(named, JSON.stringify({ base: 'range-end-only', name: 'kept-name' }));
        const sc = loadScenario('cow-two-pages');
        assert.equal(loadVariant(file, sc).name, 'my-variant');
        for (const [f, want] of [[file, 'my-variant'], [named, 'kept-name']]) {
          const r = await runFarmCli(['campaign', 'start', '--scenario', 'cow-two-pages', '--variant', f, '--seeds', '10', '--json', '--coordinator', farm.address]);
          assert.equal(r.code, 0, r.err);
          const c = JSON.parse(r.out) as { id: string; variant: string };
          assert.equal(c.variant, want);
          assert.equal(loadVariant(f, sc).name, want);
          await until(async () => (await farm.client.getCampaign(c.id)).state === 'done', 60_000, 'the campaign done');
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('the coordinator and the worker print each line once (stdout and stderr together)', async () => {
      assert.ok(id, 'a campaign ran');
      await Promise.all([worker.stop(), farm.coordinator.stop()]);
      for (const [who, p] of [['coordinator', farm.coordinator], ['worker', worker]] as const) {
        const ls = lines(p);
        const twice = ls.filter((l, i) => ls.indexOf(l) !== i);
        assert.deepEqual(twice, [], `${who} printed these more than once:\n${ls.join('\n')}`);
      }
      const co = lines(farm.coordinator);
      for (const re of [/^coordinator listening on /, /^coordinator metrics on /, /^coordinator web view on /, new RegExp(`^campaign ${id}: `)]) {
        assert.equal(co.filter((l) => re.test(l)).length, 1, `${re}:\n${co.join('\n')}`);
      }
      assert.equal(lines(worker).filter((l) => /ready/.test(l)).length, 1, lines(worker).join('\n'));
    });
  });
});
