import type { CompiledScenario } from '../sim/scenario/compiled.ts';

/** Thread names in id order: the scenario's threads, then the IOMMU fault worker if there is an IOMMU. */
export function createThreadNames(sc: CompiledScenario): string[] {
  const names = sc.threads.map((t) => t.name);
  if (sc.world.iommu !== 'none') names.push('iommu-fault');
  return names;
}
