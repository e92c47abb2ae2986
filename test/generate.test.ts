import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateProgram } from '../sim/generate/generation.ts';
import { validateProgram } from '../sim/generate/validation.ts';
import { PRESETS } from '../sim/variants/presets.ts';
import { runProcess } from './helpers/run.ts';

/**
 * Generated programs (sim/generate): pure generation, every program valid by the same rules as a
 * hand-written scenario, and `racefarm explore` the same for any worker count.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'cli', 'main.ts');

describe('generated programs', function () {
  this.timeout(120_000);

  it('the same seed gives the same program', () => {
    for (const v of ['v4.13', 'v6.6']) {
      const variant = PRESETS.get(v)!;
      for (let seed = 0; seed < 200; seed++) {
        assert.deepEqual(generateProgram(seed, { variant }), generateProgram(seed, { variant }));
      }
    }
  });

  it('every one of the first 2,000 programs per preset compiles (schema + compile.ts refusals) under its variant', () => {
    for (const v of ['v4.10', 'v4.13', 'v4.15', 'v6.6', 'range-end-only']) {
      const variant = PRESETS.get(v)!;
      for (let seed = 0; seed < 2000; seed++) {
        const p = generateProgram(seed, { variant });
        assert.doesNotThrow(() => validateProgram(p, variant), `${v} program ${seed}`);
      }
    }
  });

  it('no arm-smmu-v3 world under a v4.x preset (no SVA notifier for it then)', () => {
    const variant = PRESETS.get('v4.13')!;
    for (let seed = 0; seed < 1000; seed++) assert.notEqual(generateProgram(seed, { variant }).world?.iommu, 'arm-smmu-v3');
  });

  it('explore --json is identical for 1 and 2 workers', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'racefarm-explore-'));
    try {
      const run = (workers: string, out: string) =>
        runProcess(process.execPath, ['--import', 'tsx', CLI, 'explore', '--variant', 'v4.13', '--programs', '30', '--schedules', '40', '--workers', workers, '--no-shrink', '--json', '--out', join(tmp, out)], ROOT);
      const [one, two] = [await run('1', 'a'), await run('2', 'b')];
      assert.equal(one.code, 0, one.stderr);
      assert.equal(two.code, 0, two.stderr);
      const strip = (s: string) => {
        const j = JSON.parse(s);
        delete j.elapsedMs;
        for (const f of j.findings) delete f.file;
        return j;
      };
      assert.deepEqual(strip(two.stdout), strip(one.stdout));
      assert.equal(strip(one.stdout).programs, 30);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
