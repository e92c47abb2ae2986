import type { IommuKind } from '../model/iommu.ts';

/** A scenario after validation: names resolved to indices, every op typed. */
export type Op =
  | { readonly kind: 'read'; readonly page: number; readonly cell: number; readonly value: 0 }
  | { readonly kind: 'write'; readonly page: number; readonly cell: number; readonly value: number }
  | { readonly kind: 'reclaim' | 'madvise-free' | 'pagemap' | 'writeback' | 'migrate'; readonly page: number }
  /** batchFull: the mmu_gather is full, zap_pte_range takes its force_flush path (sim/kernel/zap.ts). */
  | { readonly kind: 'zap'; readonly page: number; readonly batchFull: boolean }
  | { readonly kind: 'clear-refs' }
  | { readonly kind: 'ksm-merge'; readonly page: number; readonly other: number }
  | { readonly kind: 'mprotect'; readonly page: number; readonly prot: 'r' | 'rw' };

export type AccessOpSpec = Extract<Op, { kind: 'read' | 'write' }>;

export type Placement =
  | { readonly kind: 'cpu'; readonly cpu: number }
  | { readonly kind: 'device'; readonly device: number }
  | { readonly kind: 'kernel' }
  | { readonly kind: 'vcpu'; readonly vcpu: number };

export interface ThreadSpec {
  readonly name: string;
  readonly on: Placement;
  readonly ops: readonly Op[];
}

export interface WorldConfig {
  readonly frames: number;
  readonly cells: number;
  readonly ptLock: 'per-page' | 'single';
  readonly iommu: IommuKind | 'none';
  readonly kvm: boolean;
  readonly maxSteps: number;
  readonly maxRetries: number;
  /**
   * VT-d advertises Deferred Invalidate Support (ECAP.DIS, bit 27): intel_svm_alloc_pasid_tables()
   * allocates the PASID-state table and intel_flush_svm_range() may defer flushes (sim/model/iommu.ts
   * IntelSvm). Only with iommu "intel-svm"; absent means false.
   */
  readonly ecapDis?: boolean;
}

export interface PageSpec {
  readonly name: string;
  readonly cells: readonly number[];
  readonly cow: boolean;
  readonly swapped: boolean;
  /** A page of a shared file mapping (MAP_SHARED): page cache + writeback instead of swap. */
  readonly file: boolean;
  /** KVM's APIC-access page (needs world.kvm): vCPU accesses are APIC accesses through the VMCS-cached pfn. */
  readonly apicAccess: boolean;
}

export interface CompiledScenario {
  readonly name: string;
  readonly description: string;
  /** The variant the scenario names by default (a preset name), if any. */
  readonly variant: string | undefined;
  readonly world: WorldConfig;
  readonly pages: readonly PageSpec[];
  readonly devices: readonly { readonly name: string; readonly ats: boolean }[];
  readonly threads: readonly ThreadSpec[];
  readonly cpuCount: number;
  readonly vcpuCount: number;
  /** The scenario as JSON with every default filled in: what a finding file stores. */
  readonly source: ScenarioJson;
}

/** The JSON format of docs/scenario-format.md, defaults filled. */
export interface ScenarioJson {
  name: string;
  description?: string;
  variant?: string;
  world: WorldConfig;
  pages: Record<string, { cells: number[]; cow?: boolean; swapped?: boolean; file?: boolean; apicAccess?: boolean }>;
  devices: { name: string; ats: boolean }[];
  threads: { name: string; on: string; ops: (string | number)[][] }[];
}
