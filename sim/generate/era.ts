import { PRESETS, type Variant } from '../variants/presets.ts';
import { SITE_NAMES } from '../variants/sites.ts';
import { IOMMU_OPTIONS, type IommuOption } from './vocabulary.ts';

/**
 * Which secondary MMUs existed in the kernel a variant stands for, so the generator never builds an
 * anachronistic world (an arm-smmu-v3 SVA binding under a v4.x preset).
 *
 * A variant's era is the kernel release among the modelled ones (v4.10, v4.11, v4.13, v4.15, v6.6)
 * whose site assignment is nearest to the variant's (fewest sites that differ; ties go to the older
 * release). A release preset is its own era; the hypothetical presets derived from v4.13 (range-end-only,
 * no-gather-invalidate, kvm-no-retry, …) fall in v4.x; mprotect-softdirty-v5.19 (v6.6 with one site
 * changed) in v6.6.
 *
 * IOMMU drivers with an mmu_notifier, by release:
 * - amd-v2: drivers/iommu/amd_iommu_v2.c (mn_invalidate_range; present in 4.10–4.15 and, as
 *   drivers/iommu/amd/iommu_v2.c, in v6.6);
 * - intel-svm: drivers/iommu/intel-svm.c (intel_mmuops; 4.10–4.15; drivers/iommu/intel/svm.c in v6.6);
 * - arm-smmu-v3: only from the SVA support of drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c
 *   (arm_smmu_mmu_notifier_ops), which came after v4.15: drivers/iommu/arm-smmu-v3.c of 4.10–4.15
 *   registers no mmu_notifier. So among the modelled releases only v6.6 has it (the catalog's
 *   smmu-upgrade-livelock says the same and uses v4.15 only as a hypothetical buggy rule).
 * - KVM (virt/kvm/kvm_main.c kvm_mmu_notifier_ops) exists in every modelled release.
 */
export const RELEASES = ['v4.10', 'v4.11', 'v4.13', 'v4.15', 'v6.6'] as const;
export type Release = (typeof RELEASES)[number];

const IOMMU_SINCE: Readonly<Record<Exclude<IommuOption, 'none'>, Release>> = {
  'amd-v2': 'v4.10',
  'intel-svm': 'v4.10',
  'arm-smmu-v3': 'v6.6',
};

/** The release nearest to a variant's site assignment (see above). */
export function eraOf(variant: Variant): Release {
  let best: Release = RELEASES[0];
  let bestDiff = Infinity;
  for (const r of RELEASES) {
    const preset = PRESETS.get(r);
    if (preset === undefined) continue;
    const diff = SITE_NAMES.filter((s) => preset.sites[s] !== variant.sites[s]).length;
    if (diff < bestDiff) {
      best = r;
      bestDiff = diff;
    }
  }
  return best;
}

/** The world.iommu options a program for this variant may use ('none' always). */
export function iommuOptionsFor(variant: Variant): IommuOption[] {
  const era = RELEASES.indexOf(eraOf(variant));
  return IOMMU_OPTIONS.filter((o) => {
    if (o === 'none') return true;
    const since = IOMMU_SINCE[o as Exclude<IommuOption, 'none'>];
    // An IOMMU kind a later format adds is allowed only once it is dated here.
    return since !== undefined && RELEASES.indexOf(since) <= era;
  });
}
