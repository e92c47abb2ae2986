import type { ScenarioInput } from './schema.ts';

export interface CatalogEntry {
  readonly scenario: ScenarioInput;
  /** The preset that shows the race; the correct presets (v4.13, v4.15) must find nothing. */
  readonly buggyVariant: string;
  /** Oracles the buggy variant is expected to fire (any of them). */
  readonly expect: readonly string[];
  /** Presets that must find nothing; v4.13 and v4.15 unless the race is about a later kernel. */
  readonly correct: readonly string[];
  /** Presets that really had this bug (so they are not among `correct`), with the fix cited in the comment. */
  readonly realBugIn?: readonly string[];
}

const CORRECT = ['v4.13', 'v4.15'] as const;

const cell0 = [0, 0, 0, 0];

type WorldInput = NonNullable<ScenarioInput['world']>;

/** The world every built-in scenario runs in (the defaults of sim/scenario/schema.ts, spelled out), with its own IOMMU/KVM choice. */
function world(o: Partial<Pick<WorldInput, 'iommu' | 'kvm'>> = {}): WorldInput {
  return { frames: 16, cells: 4, ptLock: 'per-page', iommu: 'amd-v2', kvm: false, maxSteps: 2000, maxRetries: 8, ...o };
}

/**
 * mprotect() soft-dirty scenarios (mm/mprotect.c change_pte_range, ★ mprotect.writeUpgrade): after
 * clear_refs write-protected a dirty PTE and cleared its soft-dirty bit, mprotect(PROT_READ) then
 * mprotect(PROT_READ|PROT_WRITE) must not make the PTE writable while soft-dirty tracking still
 * needs the write fault; the write after it must show in pagemap.
 */
const MPROTECT_SOFT_DIRTY: readonly CatalogEntry[] = [
  {
    // A shared file page. v4.10–v4.15 upgrade a dirty PTE of a dirty-accountable mapping when
    // `pte_soft_dirty || !(vm_flags & VM_SOFTDIRTY)` — inverted: right after clear_refs the PTE
    // becomes writable and the next write takes no fault. A real bug (Peter Xu reproduced it on old
    // kernels with an xfs file when fixing can_change_pte_writable() in 76aefad628aa, v6.0).
    scenario: {
      name: 'mprotect-soft-dirty-file',
      description: 'clear_refs, mprotect(r), mprotect(rw) of a dirty shared file page: the next write must be soft-dirty',
      variant: 'v6.6',
      world: world({ iommu: 'none' }),
      pages: { A: { cells: [...cell0], file: true } },
      devices: [],
      threads: [
        { name: 'cpu0', on: 'cpu', ops: [['write', 'A', 0, 1], ['write', 'A', 0, 2]] },
        { name: 'k0', on: 'kernel', ops: [['clear-refs'], ['mprotect', 'A', 'r'], ['mprotect', 'A', 'rw'], ['pagemap', 'A']] },
      ],
    },
    buggyVariant: 'v4.15',
    expect: ['soft-dirty-missed'],
    correct: ['v6.6'],
    realBugIn: ['v4.10', 'v4.11', 'v4.13', 'v4.15'],
  },
  {
    // An exclusive anonymous page. v4.x never upgrades a private mapping's PTE (vm_page_prot is
    // PAGE_COPY); v6.6 does for a PageAnonExclusive page (64fe24a3e05e) but not while soft-dirty
    // tracking needs the fault. 64fe24a3e05e as merged in v5.19 had the test inverted.
    scenario: {
      name: 'mprotect-soft-dirty-anon',
      description: 'clear_refs, mprotect(r), mprotect(rw) of an exclusive anonymous page: the direct writable upgrade must respect soft-dirty',
      variant: 'v6.6',
      world: world({ iommu: 'none' }),
      pages: { A: { cells: [...cell0] } },
      devices: [],
      threads: [
        { name: 'cpu0', on: 'cpu', ops: [['write', 'A', 0, 1], ['write', 'A', 0, 2]] },
        { name: 'k0', on: 'kernel', ops: [['clear-refs'], ['mprotect', 'A', 'r'], ['mprotect', 'A', 'rw'], ['pagemap', 'A']] },
      ],
    },
    buggyVariant: 'mprotect-softdirty-v5.19',
    expect: ['soft-dirty-missed'],
    correct: ['v4.13', 'v4.15', 'v6.6'],
  },
];

/**
 * KVM's APIC-access page (sim/kernel/kvmApic.ts, ★ kvm.apicReload): the guest writes an APIC register
 * and reads it back while the host migrates the page. Every vCPU must reload APIC_ACCESS_ADDR after
 * the PTE changed; if it keeps, or reloads, the old pfn, the EPT maps the new page while the VMCS
 * names the old one, the processor stops treating the accesses as APIC accesses, and the guest
 * reads raw memory (bugzilla 197951: Windows guests bugchecked with CRITICAL_STRUCTURE_CORRUPTION).
 */
const KVM_APIC: readonly CatalogEntry[] = [
  {
    scenario: {
      name: 'kvm-apic-access-migrate',
      description: 'migration of the APIC-access page: each vCPU must reload the VMCS APIC_ACCESS_ADDR after the PTE changed, not before',
      variant: 'v6.6',
      world: world({ iommu: 'none', kvm: true }),
      pages: { A: { cells: [...cell0], apicAccess: true } },
      devices: [],
      threads: [
        { name: 'vcpu0', on: 'vcpu', ops: [['write', 'A', 0, 5], ['read', 'A', 0], ['read', 'A', 0]] },
        { name: 'k0', on: 'kernel', ops: [['migrate', 'A']] },
      ],
    },
    // v4.13/v4.14: nobody requests the reload (369ea8242c0f dropped ->invalidate_page); v4.15:
    // b1394e745b94 requests it from range_start, before try_to_unmap_one changes the PTE.
    buggyVariant: 'v4.15',
    expect: ['stale-read'],
    correct: ['kvm-apic-invalidate-range', 'v6.6'],
    realBugIn: ['v4.13', 'v4.15'],
  },
];

/**
 * Deferred CPU TLB flushes (sim/kernel/tlbBatch.ts). Reclaim clears A's PTE under TTU_BATCH_FLUSH
 * and flushes the CPU TLBs only later (try_to_unmap_flush[_dirty], mm/vmscan.c shrink_page_list).
 * A path that takes A's PT lock in between finds no present PTE, so nothing of its own to flush;
 * unless it calls flush_tlb_batched_pending() (3ea277194daa, in 4.13 and 4.15, not in 4.10.17 or
 * 4.11.0) the CPU's stale entry outlives it. The races of Nadav Amit's report quoted in that commit.
 */
const TLB_DEFER: readonly CatalogEntry[] = [
  {
    // Nadav Amit's KSM race ("mm: fix KSM data corruption", Minchan Kim, 2017): cpu0 caches a
    // writable dirty TLB entry for A; MADV_FREE cleans A's PTE and clear_refs write-protects it, both
    // batching their TLB flush; ksmd's write_protect_page() finds A read-only and clean and skips the
    // flush, pages_identical() says yes, and cpu0's next write goes through the stale entry into the
    // page replace_page() then drops. The fix: clear_refs under tlb_gather_mmu and write_protect_page
    // testing mm_tlb_flush_pending() (★ ksm.flushPending, clearRefs.tlbFlush). Real in v4.10/v4.11.
    scenario: {
      name: 'ksm-stale-tlb',
      description: 'MADV_FREE and clear_refs leave a CPU a writable TLB entry of a read-only clean PTE; KSM must flush before merging',
      variant: 'v4.13',
      world: world({ iommu: 'none' }),
      pages: { A: { cells: [7, 0, 0, 0] }, B: { cells: [7, 0, 0, 0] } },
      devices: [],
      threads: [
        { name: 'cpu0', on: 'cpu', ops: [['write', 'A', 0, 7], ['write', 'A', 0, 9]] },
        { name: 'cpu1', on: 'cpu', ops: [['read', 'B', 0]] },
        { name: 'k1', on: 'kernel', ops: [['madvise-free', 'A']] },
        // The first clear_refs clears VM_SOFTDIRTY (under down_write); the second one then runs under
        // down_read only, as in the report ("all the operations … only acquire mmap_sem for read").
        { name: 'k2', on: 'kernel', ops: [['clear-refs'], ['clear-refs']] },
        { name: 'ksmd', on: 'kernel', ops: [['ksm-merge', 'A', 'B']] },
      ],
    },
    buggyVariant: 'v4.10',
    expect: ['lost-write', 'stale-read'],
    correct: CORRECT,
    realBugIn: ['v4.10', 'v4.11'],
  },
  {
    // MADV_DONTNEED (zap_pte_range) of A while reclaim's flush is deferred: the swap PTE is cleared,
    // madvise returns, and cpu0 keeps writing through its stale TLB entry into the page reclaim
    // then writes to swap and frees. A now reads as a fresh zero page: the write is lost. Real in
    // v4.10/v4.11 ("For munmap, it's potentially a data integrity issue", 3ea277194daa).
    scenario: {
      name: 'reclaim-zap-stale-tlb',
      description: 'MADV_DONTNEED of a page reclaim unmapped with a deferred TLB flush; the CPU writes through its stale TLB entry after madvise returned',
      variant: 'v4.13',
      world: world({ iommu: 'none' }),
      pages: { A: { cells: [...cell0] } },
      devices: [],
      threads: [
        { name: 'cpu0', on: 'cpu', ops: [['write', 'A', 0, 1], ['write', 'A', 1, 2], ['write', 'A', 2, 3], ['write', 'A', 3, 4]] },
        { name: 'kswapd', on: 'kernel', ops: [['reclaim', 'A']] },
        { name: 'k1', on: 'kernel', ops: [['zap', 'A']] },
      ],
    },
    buggyVariant: 'v4.10',
    expect: ['lost-write'],
    correct: CORRECT,
    realBugIn: ['v4.10', 'v4.11'],
  },
  {
    // mprotect(A, PROT_READ) while reclaim's flush is deferred: change_pte_range finds a swap PTE,
    // no flush, and cpu0's writable entry survives the mprotect ("there is a window where an
    // mprotect that limits access still allows access", 3ea277194daa). The data is not lost — the
    // dirty PTE made reclaim flush before pageout — so the verdict is the invariant split-mapping.
    scenario: {
      name: 'reclaim-mprotect-stale-tlb',
      description: 'mprotect(PROT_READ) of a page reclaim unmapped with a deferred TLB flush must not leave the CPU a writable TLB entry',
      variant: 'v4.13',
      world: world({ iommu: 'none' }),
      pages: { A: { cells: [...cell0] } },
      devices: [],
      threads: [
        { name: 'cpu0', on: 'cpu', ops: [['write', 'A', 0, 1], ['write', 'A', 0, 2]] },
        { name: 'kswapd', on: 'kernel', ops: [['reclaim', 'A']] },
        { name: 'k1', on: 'kernel', ops: [['mprotect', 'A', 'r']] },
      ],
    },
    buggyVariant: 'v4.10',
    expect: ['split-mapping'],
    correct: CORRECT,
    realBugIn: ['v4.10', 'v4.11'],
  },
];

/**
 * The built-in scenarios. Each is a small program whose race the buggy variant exposes; the
 * comments say which kernel sequence each thread stands for.
 */
export const CATALOG: readonly CatalogEntry[] = [
  {
    // Documentation/mm/mmu_notifier.rst (Documentation/vm/mmu_notifier.txt in v4.15) ("When changing a pte to write protect or to point to a new
    // write protected page with same content…"): two COW pages, four CPU threads, two device threads.
    // Without invalidate_range under the PT lock, the device keeps reading A's old page after a CPU
    // already wrote the new one.
    scenario: {
      name: 'cow-two-pages',
      description: 'the COW table of Documentation/mm/mmu_notifier.rst: a device reads A and B while CPUs COW and write them',
      variant: 'v4.13',
      world: world(),
      pages: { A: { cells: [...cell0], cow: true }, B: { cells: [...cell0], cow: true } },
      devices: [{ name: 'dev0', ats: true }],
      threads: [
        { name: 'cpu0', on: 'cpu', ops: [['write', 'A', 0, 1]] },
        { name: 'cpu1', on: 'cpu', ops: [['write', 'B', 0, 1]] },
        { name: 'cpu2', on: 'cpu', ops: [['write', 'A', 0, 2]] },
        { name: 'cpu3', on: 'cpu', ops: [['write', 'B', 0, 2]] },
        { name: 'dev0', on: 'device:dev0', ops: [['read', 'A', 0], ['read', 'A', 0]] },
        { name: 'dev2', on: 'device:dev0', ops: [['read', 'B', 0], ['read', 'B', 0]] },
      ],
    },
    buggyVariant: 'range-end-only',
    expect: ['stale-read'],
    correct: CORRECT,
  },
  {
    // try_to_unmap_one() discarding a clean MADV_FREE page in ≤ v4.10 (mm/rmap.c: "discard:
    // page_remove_rmap(); put_page(); out_unmap: pte_unmap_unlock(pte, ptl); ...
    // mmu_notifier_invalidate_page(mm, address)"). The program MADV_FREEs A (k0), kswapd (kswapd0)
    // reclaims it; between pte_unmap_unlock() and invalidate_page() the program writes A again:
    // do_anonymous_page() maps a fresh page with a plain set_pte_at() ("No need to invalidate - it
    // was non-present before"), and the device, whose ATC still maps the discarded frame, reads the
    // old value after the new one was written — stale-read. (An early design note called this v4.11;
    // the kernel moved the call under the PT lock in v4.11-rc1, commit c7ab0d2fdc84, which the
    // fault's pte_offset_map_lock needs, so the window closes there.)
    // Not a lost write: a clean PTE never gives the device a writable translation (the PRI write
    // fault, or an IOMMU granting write, dirties the PTE first, and try_to_unmap_one() moves a dirty
    // PTE's bit to the page, which is then kept). And the first touch must be a write: a read maps
    // the zero page, and the write's COW (wp_page_copy → ptep_clear_flush_notify) flushes the device
    // before the new value lands — only a split mapping. Two kernel threads, not one: the race then
    // needs two preemptions (K = 2), not three.
    scenario: {
      name: 'unmap-window-madv-free',
      description: 'kswapd discards a clean MADV_FREE page; the program writes it again while the device still reads the discarded frame before invalidate_page',
      variant: 'v4.13',
      world: world(),
      pages: { A: { cells: [5, 0, 0, 0] } },
      devices: [{ name: 'dev0', ats: true }],
      threads: [
        { name: 'k0', on: 'kernel', ops: [['madvise-free', 'A']] },
        { name: 'kswapd0', on: 'kernel', ops: [['reclaim', 'A']] },
        { name: 'dev0', on: 'device:dev0', ops: [['read', 'A', 0], ['read', 'A', 0]] },
        { name: 'cpu0', on: 'cpu', ops: [['write', 'A', 0, 7]] },
      ],
    },
    buggyVariant: 'v4.10',
    // Only the observable race: under racefarm-sim 0.5.0 v4.10 also shows, in this program, the
    // split mapping of reclaim's deferred CPU flush without flush_tlb_batched_pending (3ea277194daa),
    // which is reclaim-mprotect-stale-tlb's race, so split-mapping no longer names one race here.
    expect: ['stale-read'],
    correct: CORRECT,
  },
  {
    // clear_refs_write() write-protects A and clears its soft-dirty bit, but if range_end's
    // invalidate_range never reaches the IOMMU, the device's writable ATC entry keeps writing
    // without a fault, and pagemap reports A clean.
    scenario: {
      name: 'soft-dirty-device-write',
      description: 'a device with a writable ATC entry keeps writing after clear_refs returned; pagemap must still see soft-dirty',
      variant: 'v4.13',
      world: world(),
      pages: { A: { cells: [...cell0] } },
      devices: [{ name: 'dev0', ats: true }],
      threads: [
        { name: 'dev0', on: 'device:dev0', ops: [['write', 'A', 0, 1], ['write', 'A', 0, 2], ['write', 'A', 0, 3]] },
        { name: 'k0', on: 'kernel', ops: [['clear-refs'], ['pagemap', 'A']] },
      ],
    },
    buggyVariant: 'no-clear-refs-invalidate',
    expect: ['soft-dirty-missed'],
    correct: CORRECT,
  },
  {
    // munmap/MADV_DONTNEED of a large range: the mmu_gather fills up ("batch-full", force_flush in
    // zap_pte_range) and tlb_flush_mmu() frees A's page before range_end; without invalidate_range
    // before the free, the device's ATC still points at the freed, reused frame.
    scenario: {
      name: 'zap-gather-free',
      description: 'zap frees gathered pages; the device writes through its ATC into the freed, reused frame',
      variant: 'v4.13',
      world: world(),
      pages: { A: { cells: [3, 0, 0, 0] }, B: { cells: [...cell0], swapped: true } },
      devices: [{ name: 'dev0', ats: true }],
      threads: [
        { name: 'dev0', on: 'device:dev0', ops: [['read', 'A', 0], ['write', 'A', 0, 5], ['read', 'A', 0]] },
        { name: 'k0', on: 'kernel', ops: [['zap', 'A', 'batch-full']] },
        { name: 'cpu0', on: 'cpu', ops: [['read', 'B', 0], ['write', 'B', 0, 9]] },
      ],
    },
    buggyVariant: 'no-gather-invalidate',
    expect: ['use-after-free'],
    correct: CORRECT,
  },
  {
    // A vCPU faults A in (tdp_page_fault: seq sample, GUP, mmu_lock, install spte) while reclaim
    // unmaps A. Without mmu_notifier_retry() the vCPU installs an spte to the page reclaim just
    // unmapped; the second reclaim pass frees it from the swap cache, and the guest keeps using it.
    scenario: {
      name: 'kvm-stale-spte',
      description: 'a vCPU fault races reclaim; the spte must not outlive the unmap (mmu_notifier_retry)',
      variant: 'v4.13',
      world: world({ iommu: 'none', kvm: true }),
      pages: { A: { cells: [4, 0, 0, 0] } },
      devices: [],
      threads: [
        { name: 'vcpu0', on: 'vcpu', ops: [['read', 'A', 0], ['read', 'A', 0], ['read', 'A', 0]] },
        { name: 'k0', on: 'kernel', ops: [['reclaim', 'A'], ['reclaim', 'A']] },
        { name: 'cpu0', on: 'cpu', ops: [['read', 'A', 1], ['write', 'A', 0, 6]] },
      ],
    },
    buggyVariant: 'kvm-no-retry',
    expect: ['use-after-free', 'split-mapping'],
    correct: CORRECT,
  },
  {
    // The COW race of cow-two-pages behind intel-svm, on VT-d with Deferred Invalidate Support
    // (world.ecapDis). intel-svm also registers ->change_pte, so set_pte_at_notify() flushes it even
    // where invalidate_range under the PT lock is missing. v4.4–v4.20's intel_flush_svm_range() skips
    // the flush only while no device has the PASID active (cmpxchg64 of the PASID-state entry with 0),
    // and the hardware invalidates before the PASID is used again; a second notification of the same
    // change finds DINV set and flushes: correct. The hypothetical intel-svm-deferred also defers while
    // the device is active, with set_pte_at_notify's ->change_pte the only notification of the COW:
    // the device reads the old page.
    scenario: {
      name: 'intel-svm-cow',
      description: 'COW of A while an intel-svm device reads it on VT-d with deferred invalidation; deferring while the PASID is active leaves the device on the old page',
      variant: 'v4.13',
      world: { ...world({ iommu: 'intel-svm' }), ecapDis: true },
      pages: { A: { cells: [...cell0], cow: true } },
      devices: [{ name: 'dev0', ats: true }],
      threads: [
        { name: 'cpu0', on: 'cpu', ops: [['write', 'A', 0, 1]] },
        { name: 'cpu1', on: 'cpu', ops: [['write', 'A', 0, 2]] },
        { name: 'dev0', on: 'device:dev0', ops: [['read', 'A', 0], ['read', 'A', 0], ['read', 'A', 0]] },
      ],
    },
    buggyVariant: 'intel-svm-deferred',
    expect: ['stale-read'],
    correct: ['v4.10', 'v4.11', 'v4.13', 'v4.15', 'v6.6'],
  },
  {
    // Writeback of a shared file page behind intel-svm on VT-d with deferred invalidation:
    // page_mkclean_one() write-protects and cleans A; v4.15 notifies only from range_end. Deferring
    // that one flush while the device has the PASID active (the hypothetical intel-svm-deferred; the
    // real cmpxchg64 fails on a nonzero active count) leaves the device a writable entry: its write
    // keeps the page clean and reclaim drops it.
    scenario: {
      name: 'intel-svm-writeback',
      description: 'writeback of a file page an intel-svm device writes, on VT-d with deferred invalidation; deferring the mkclean flush while the PASID is active loses the write',
      variant: 'v4.15',
      world: { ...world({ iommu: 'intel-svm' }), ecapDis: true },
      pages: { A: { cells: [...cell0], file: true } },
      devices: [{ name: 'dev0', ats: true }],
      threads: [
        { name: 'dev0', on: 'device:dev0', ops: [['write', 'A', 0, 1], ['write', 'A', 0, 2], ['write', 'A', 0, 3]] },
        { name: 'k0', on: 'kernel', ops: [['writeback', 'A'], ['reclaim', 'A']] },
      ],
    },
    buggyVariant: 'intel-svm-deferred',
    expect: ['lost-write'],
    correct: ['v4.11', 'v4.13', 'v4.15', 'v6.6'], // v4.10: page_mkclean_one's invalidate_page after unlock, split-mapping only (as writeback-device-write)
  },
  {
    // A is swapped out; the device reads it: PRI → do_swap_page() maps it read-only (a read fault
    // does not reuse_swap_page), and the SMMU caches the read-only entry. Then it writes: PRI →
    // do_wp_page() → wp_page_reuse() upgrades the PTE in place. Before v6.6 nothing tells the SMMU,
    // which keeps answering with its read-only entry: the device faults forever. arm-smmu-v3 SVA
    // came long after v4.15, so the correct preset here is v6.6 and the buggy one is v4.15's rule.
    // (Until racefarm-sim 0.6.3 clear_refs made A read-only here, which an arm64 kernel cannot do:
    // it has no soft-dirty, compile.ts checkArm64World.)
    scenario: {
      name: 'smmu-upgrade-livelock',
      description: 'arm-smmu-v3 caches a read-only entry; an unnotified read-only → writable upgrade leaves the device faulting',
      variant: 'v6.6',
      world: world({ iommu: 'arm-smmu-v3' }),
      pages: { A: { cells: [...cell0], swapped: true } },
      devices: [{ name: 'dev0', ats: true }],
      threads: [
        { name: 'dev0', on: 'device:dev0', ops: [['read', 'A', 0], ['write', 'A', 0, 1], ['read', 'A', 0]] },
      ],
    },
    buggyVariant: 'v4.15',
    expect: ['no-progress'],
    correct: ['v6.6'],
  },
  {
    // Writeback of a shared file page: page_mkclean_one() write-protects and cleans A, ->writepage
    // saves it. A device that still holds a writable ATC entry keeps writing without a fault, so
    // the page stays clean; reclaim then drops it and the write never reaches the file.
    scenario: {
      name: 'writeback-device-write',
      description: 'a device keeps writing a file page through its ATC after page_mkclean; reclaim drops the clean page',
      variant: 'v4.13',
      world: world(),
      pages: { A: { cells: [...cell0], file: true } },
      devices: [{ name: 'dev0', ats: true }],
      threads: [
        { name: 'dev0', on: 'device:dev0', ops: [['write', 'A', 0, 1], ['write', 'A', 0, 2], ['write', 'A', 0, 3]] },
        { name: 'k0', on: 'kernel', ops: [['writeback', 'A'], ['reclaim', 'A']] },
      ],
    },
    buggyVariant: 'no-mkclean-invalidate',
    expect: ['lost-write', 'split-mapping', 'use-after-free'],
    correct: CORRECT,
  },
  {
    // mprotect(A, PROT_READ) while a device holds a writable ATC entry: the device must fault
    // (and be refused) from the moment mprotect returns.
    scenario: {
      name: 'mprotect-device-write',
      description: 'mprotect(PROT_READ) must revoke a device’s writable ATC entry',
      variant: 'v4.13',
      world: world(),
      pages: { A: { cells: [...cell0] } },
      devices: [{ name: 'dev0', ats: true }],
      threads: [
        { name: 'dev0', on: 'device:dev0', ops: [['write', 'A', 0, 1], ['write', 'A', 0, 2], ['write', 'A', 0, 3]] },
        { name: 'k0', on: 'kernel', ops: [['mprotect', 'A', 'r']] },
      ],
    },
    buggyVariant: 'no-mprotect-invalidate',
    expect: ['split-mapping'],
    correct: CORRECT,
  },
  {
    // Page migration copies A to a new frame while a device writes it: the device must be off the
    // old page (migration entry + flush) before the copy, or its write stays behind in the old frame.
    scenario: {
      name: 'migrate-device-write',
      description: 'migration copies a page the device is writing; the flush must come before the copy',
      variant: 'v4.13',
      world: world(),
      pages: { A: { cells: [1, 0, 0, 0] } },
      devices: [{ name: 'dev0', ats: true }],
      threads: [
        { name: 'dev0', on: 'device:dev0', ops: [['write', 'A', 0, 2], ['write', 'A', 0, 3], ['read', 'A', 0]] },
        { name: 'k0', on: 'kernel', ops: [['migrate', 'A']] },
      ],
    },
    buggyVariant: 'migrate-flush-after-copy',
    expect: ['lost-write', 'stale-read', 'split-mapping', 'use-after-free'],
    correct: CORRECT,
  },
  {
    // ksmd merges B into A (same content). A device with a writable ATC entry on B writes after
    // pages_identical() said "identical": unless write_protect_page() flushed the ATC before the
    // comparison, replace_page() throws the write away.
    scenario: {
      name: 'ksm-device-write',
      description: 'KSM merges two identical pages while a device writes one of them',
      variant: 'v4.13',
      world: world(),
      pages: { A: { cells: [7, 0, 0, 0] }, B: { cells: [7, 0, 0, 0] } },
      devices: [{ name: 'dev0', ats: true }],
      threads: [
        { name: 'dev0', on: 'device:dev0', ops: [['write', 'B', 1, 0], ['write', 'B', 0, 9], ['read', 'B', 0]] },
        { name: 'k0', on: 'kernel', ops: [['ksm-merge', 'A', 'B']] },
      ],
    },
    buggyVariant: 'ksm-flush-after-compare',
    expect: ['lost-write', 'stale-read', 'split-mapping'],
    correct: CORRECT,
  },
  ...MPROTECT_SOFT_DIRTY,
  ...KVM_APIC,
  ...TLB_DEFER,
];

export function catalogEntry(name: string): CatalogEntry | undefined {
  return CATALOG.find((e) => e.scenario.name === name);
}
