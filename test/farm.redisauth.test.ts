import assert from 'node:assert/strict';
import { TestRedis } from './helpers/redis.ts';
import { farmProcess, FAST_LOCKS } from './helpers/farm.ts';

describe('farm: a wrong Redis password fails fast with one clear line', function () {
  this.timeout(60_000);
  let redis: TestRedis;

  before(async () => {
    redis = await TestRedis.start({ password: 'the-right-one' });
  });
  after(async () => redis?.destroy());

  for (const [what, url] of [
    ['a wrong password', () => `redis://:wrong@127.0.0.1:${redis.port}`],
    ['no password', () => `redis://127.0.0.1:${redis.port}`],
  ] as const) {
    for (const role of ['coordinator', 'worker'] as const) {
      it(`${role} with ${what}: exits non-zero within seconds, one line naming the refusal, password redacted`, async () => {
        const args = role === 'coordinator' ? ['coordinator', '--redis', url(), '--grpc', '127.0.0.1:0', '--metrics', 'off'] : ['worker', '--redis', url(), '--metrics', 'off'];
        const p = farmProcess(args, FAST_LOCKS);
        const t = setTimeout(() => p.child.kill('SIGKILL'), 30_000);
        await p.wait();
        clearTimeout(t);
        assert.notEqual(p.signal, 'SIGKILL', `it exited by itself:\n${p.err}`);
        assert.notEqual(p.exitCode, 0);
        const lines = p.err.trim().split('\n');
        assert.equal(lines.length, 1, p.err);
        assert.match(lines[0], new RegExp(`${role}: redis redis://(:\\*\\*\\*@)?127\\.0\\.0\\.1:${redis.port}/? refused the credentials \\((WRONGPASS|NOAUTH)`));
        assert.doesNotMatch(p.err, /wrong@|the-right-one|\n\s+at /);
        assert.doesNotMatch(p.out, /listening|ready/);
      });
    }
  }
});
