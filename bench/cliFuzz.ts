import { runProcess, type Ran } from '../support/run.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CATALOG } from '../sim/scenario/catalog.ts';
import { compiledIsCurrent, packagePath } from '../farm/compiled.ts';

/**
 * Issue 13's first acceptance figure: the CLI's own speed. `racefarm fuzz --strategy random
 * --workers 1 --json` (bin/racefarm.mjs: compiled JavaScript when dist/ is current, else tsx), a real
 * process per built-in scenario under its buggy preset, one at a time. ns/step is the campaign's
 * own `elapsedMs` (runLocalCampaign: compiling the scenario, JIT warm-up and every run, not the
 * process start-up or the shrinking of findings afterwards) over its `steps`. The report sets it
 * next to bench/baseline.ts's bare replay of the same scenario measured in the same bench run.
 */
export interface CliFuzzRow {
  scenario: string;
  variant: string;
  seeds: number;
  steps: number;
  /** The CLI's campaign time (its --json elapsedMs). */
  elapsedMs: number;
  /** The whole process, start to exit (includes start-up and shrinking). */
  wallMs: number;
  nsPerStep: number;
  stepsPerSec: number;
  /** What bin/racefarm.mjs ran. */
  entry: 'compiled' | 'tsx';
}

function run(args: readonly string[]): Promise<Ran> {
  return runProcess(process.execPath, [packagePath('bin', 'racefarm.mjs'), ...args], process.cwd());
}

export async function measureCliFuzz(seeds: number, scenarios: readonly string[] = CATALOG.map((e) => e.scenario.name)): Promise<CliFuzzRow[]> {
  const out = mkdtempSync(join(tmpdir(), 'racefarm-bench-cli-'));
  const rows: CliFuzzRow[] = [];
  try {
    for (const name of scenarios) {
      const entry = CATALOG.find((e) => e.scenario.name === name)!;
      const args = ['fuzz', '--scenario', name, '--variant', entry.buggyVariant, '--strategy', 'random', '--seeds', String(seeds), '--workers', '1', '--json', '--out', join(out, name)];
      const t0 = performance.now();
      const r = await run(args);
      const wallMs = performance.now() - t0;
      if (r.code !== 0) throw new Error(`racefarm ${args.join(' ')}: exit ${r.code}: ${r.stderr.split('\n')[0]}`);
      const s = JSON.parse(r.stdout) as { schedules: number; steps: number; elapsedMs: number };
      rows.push({
        scenario: name,
        variant: entry.buggyVariant,
        seeds: s.schedules,
        steps: s.steps,
        elapsedMs: s.elapsedMs,
        wallMs,
        nsPerStep: (s.elapsedMs * 1e6) / s.steps,
        stepsPerSec: (s.steps / s.elapsedMs) * 1000,
        entry: compiledIsCurrent() ? 'compiled' : 'tsx',
      });
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  return rows;
}
