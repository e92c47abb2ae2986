import type { OracleName } from '../oracles/violation.ts';
import type { Sites } from '../variants/sites.ts';
import { PRESETS } from '../variants/presets.ts';

/**
 * Real kernel behaviours that a correct preset still has: a finding under such a preset that matches
 * one is the kernel's bug, faithfully modelled, not the model's. A finding that matches is labelled
 * `known: <id>` (explore --json `known`) instead of being reported as new.
 *
 * A matcher is the oracle, a pattern over the labels of the participating steps (the same labels the
 * signature hashes), and the site choice that stands for the buggy kernel code; the presets it covers
 * are derived from that choice, so a hypothetical preset built on a buggy release carries the bug too.
 * Only behaviours read in the kernel source are listed (docs/kernel-notes.md, §14).
 */
export interface KnownBug {
  readonly id: string;
  readonly title: string;
  /** The kernel code and the commit that fixed (or introduced) it. */
  readonly kernel: string;
  readonly fixedBy: string;
  readonly oracle: OracleName;
  /** Matches when some participant label matches. */
  readonly participant: RegExp;
  /** The site assignment that models the buggy code. */
  readonly when: (sites: Sites) => boolean;
}

export const KNOWN_BUGS: readonly KnownBug[] = [
  {
    id: 'mprotect-softdirty-dirty-accountable',
    title: 'mprotect(PROT_WRITE) makes a dirty shared-file PTE writable right after clear_refs: the next write takes no fault and soft-dirty is lost',
    // mm/mprotect.c change_pte_range, v4.10–v4.15 (and up to v5.x): "Avoid taking write faults for
    // known dirty pages": dirty_accountable && pte_dirty(ptent) && (pte_soft_dirty(ptent) ||
    // !(vma->vm_flags & VM_SOFTDIRTY)) → pte_mkwrite. clear_refs_write clears VM_SOFTDIRTY and the
    // PTE's soft-dirty bit, so the test passes exactly when tracking needs the fault (inverted).
    kernel: 'mm/mprotect.c change_pte_range (v4.10–v4.15): dirty_accountable && pte_dirty && (pte_soft_dirty || !(vm_flags & VM_SOFTDIRTY))',
    fixedBy: '76aefad628aa ("mm/mprotect: fix soft-dirty check in can_change_pte_writable()", v6.0), Peter Xu; reproduced by him on old kernels with a shared file mapping',
    oracle: 'soft-dirty-missed',
    participant: /change_pte_range.*dirty_accountable && pte_dirty/,
    when: (s) => s['mprotect.writeUpgrade'] === 'dirty-accountable',
  },
  {
    id: 'mprotect-softdirty-v5.19',
    title: 'can_change_pte_writable() as merged in v5.19 upgrades a dirty exclusive-anonymous or shared PTE although soft-dirty tracking needs the fault',
    // mm/mprotect.c can_change_pte_writable (64fe24a3e05e, v5.19): "if (vma_soft_dirty_enabled… "
    // was written as (vma->vm_flags & VM_SOFTDIRTY) && !pte_soft_dirty(pte) → return false: inverted.
    kernel: 'mm/mprotect.c can_change_pte_writable (64fe24a3e05e, v5.19)',
    fixedBy: '76aefad628aa (v6.0) turned the soft-dirty test around',
    oracle: 'soft-dirty-missed',
    participant: /can_change_pte_writable v5\.19/,
    when: (s) => s['mprotect.writeUpgrade'] === 'exclusive-anon-inverted',
  },
];

/** The presets that have a known bug's site choice (for docs and the explore summary). */
export function presetsWith(bug: KnownBug): string[] {
  return [...PRESETS.values()].filter((v) => bug.when(v.sites)).map((v) => v.name);
}

/** What a finding is matched on. */
export interface KnownBugQuery {
  readonly oracle: OracleName;
  readonly participants: readonly string[];
  readonly sites: Sites;
}

/** The id of the listed real kernel bug a finding matches, or null. */
export function knownBugOf(f: KnownBugQuery): string | null {
  for (const b of KNOWN_BUGS) {
    if (b.oracle === f.oracle && b.when(f.sites) && f.participants.some((p) => b.participant.test(p))) return b.id;
  }
  return null;
}
