import assert from 'node:assert/strict';
import { catalogEntry } from '../../sim/scenario/catalog.ts';
import { compileScenario } from '../../sim/scenario/compile.ts';
import { resolvePreset } from '../../sim/variants/resolve.ts';
import { estimateSteps } from '../../sim/schedule/strategy.ts';
import { runSeeds } from '../../sim/fuzz.ts';
import type { Finding } from '../../sim/finding.ts';

/**
 * smmu-upgrade-livelock (A swapped out, so the first read maps it read-only) grown to 8 devices
 * of 31 accesses each, no other thread, up to 1000 PRI round trips per
 * access: seed 200 of random (depth 3) runs into the step budget. At maxSteps 1e6 its trace table
 * was longer than V8's longest string; the farm tests use 200–40,000 steps to stay fast.
 */
export function livelockScenario(maxSteps: number): Record<string, unknown> {
  const base = structuredClone(catalogEntry('smmu-upgrade-livelock')!.scenario) as any;
  base.name = 'smmu-livelock-8dev';
  base.variant = 'v4.15';
  base.world = { ...base.world, maxSteps, maxRetries: 1000 };
  base.devices = Array.from({ length: 8 }, (_, i) => ({ name: `dev${i}`, ats: true }));
  const ops: unknown[] = [['read', 'A', 0]];
  for (let i = 0; i < 30; i++) ops.push(['write', 'A', 0, i + 1]);
  base.threads = [...base.devices.map((d: { name: string }) => ({ name: d.name, on: `device:${d.name}`, ops }))];
  return base;
}

/** The step-budget finding of livelockScenario(maxSteps) under v4.15 at seed 200. */
export function livelockFinding(maxSteps: number): Finding {
  const sc = compileScenario(livelockScenario(maxSteps) as any);
  const v = resolvePreset('v4.15');
  const b = runSeeds(sc, v, { name: 'random', depth: 3, kSteps: estimateSteps(sc, v.sites) }, 200, 1);
  const f = b.findings.find((x) => x.oracle === 'step-budget');
  assert.ok(f, `seed 200 reaches the step budget at ${maxSteps}`);
  assert.equal(f.steps, maxSteps);
  return f;
}
