import { compileScenario } from '../scenario/compile.ts';
import type { CompiledScenario, ScenarioJson } from '../scenario/compiled.ts';
import { LIMITS } from '../scenario/limits.ts';
import type { Variant } from '../variants/presets.ts';
import { iommuOptionsFor } from './era.ts';
import { GENERATOR_BOUNDS } from './generation.ts';

/** A generated program that a hand-written scenario could not be: a generator bug, never bad user input. */
export class GeneratedProgramError extends Error {}

/**
 * Checks a generated program the way a hand-written scenario is checked — the same zod schema and
 * compile.ts cross-checks (compileScenario), so every size bound of sim/scenario/limits.ts holds —
 * plus the generator's own bounds and era rule (no IOMMU the variant's kernel did not have).
 * Returns the compiled scenario; throws GeneratedProgramError naming what is wrong.
 */
export function validateProgram(p: ScenarioJson, variant: Variant): CompiledScenario {
  let sc: CompiledScenario;
  try {
    sc = compileScenario(p);
  } catch (e) {
    throw new GeneratedProgramError(`generated program ${p.name} does not compile: ${(e as Error).message}`);
  }
  const problems: string[] = [];
  const ops = sc.threads.reduce((n, t) => n + t.ops.length, 0);
  if (sc.pages.length > Math.min(GENERATOR_BOUNDS.pages, LIMITS.pages)) problems.push(`${sc.pages.length} pages`);
  if (sc.devices.length > Math.min(GENERATOR_BOUNDS.devices, LIMITS.devices)) problems.push(`${sc.devices.length} devices`);
  if (sc.threads.length > Math.min(GENERATOR_BOUNDS.threads, LIMITS.threads)) problems.push(`${sc.threads.length} threads`);
  if (sc.threads.some((t) => t.ops.length > Math.min(GENERATOR_BOUNDS.opsPerThread, LIMITS.opsPerThread))) problems.push('a thread has too many ops');
  if (ops > LIMITS.opsTotal) problems.push(`${ops} ops`);
  if (sc.world.cells > GENERATOR_BOUNDS.cells) problems.push(`${sc.world.cells} cells`);
  if (!iommuOptionsFor(variant).includes(sc.world.iommu)) problems.push(`world.iommu ${sc.world.iommu} did not exist in the kernel ${variant.name} stands for`);
  if (problems.length > 0) throw new GeneratedProgramError(`generated program ${p.name} is out of bounds: ${problems.join('; ')}`);
  return sc;
}
