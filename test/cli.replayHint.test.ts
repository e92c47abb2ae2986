import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './helpers/farm.ts';
import { runProcess } from './helpers/run.ts';

describe('the replay hint of fuzz --strategy exhaustive names the command that ran', function () {
  this.timeout(60_000);
  const tmp = mkdtempSync(join(tmpdir(), 'racefarm-hint-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('run as node bin/racefarm.mjs, it says node bin/racefarm.mjs repro FILE, and that command replays the finding', async () => {
    const out = join(tmp, 'out');
    const r = await runProcess(process.execPath, ['bin/racefarm.mjs', 'fuzz', '--scenario', 'mprotect-device-write', '--variant', 'no-mprotect-invalidate', '--strategy', 'exhaustive', '--out', out], ROOT);
    assert.equal(r.code, 0, r.stderr);
    const m = /^replay one with: node bin\/racefarm\.mjs repro (\S+)$/m.exec(r.stdout);
    assert.ok(m, r.stdout);
    assert.match(m[1], new RegExp(`^${out.replace(/[.]/g, '\\.')}/mprotect-device-write\\.[0-9a-f]+\\.json$`));
    const again = await runProcess(process.execPath, ['bin/racefarm.mjs', 'repro', m[1]], ROOT);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /REPRODUCED: split-mapping/);
  });
});
