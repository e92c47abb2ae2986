/**
 * The page table of the one simulated mm, one PTE per named virtual page, stored as parallel typed
 * arrays (the hot loop reads them on every access).
 *
 * A PTE is in exactly one state: NONE, PRESENT (frame + permission/status bits) or SWAP (a swap
 * entry naming the page's slot). Status bits are kept for SWAP too only where the kernel keeps
 * them (soft-dirty survives in the swap entry: pte_swp_mksoft_dirty).
 */
export const enum PteKind {
  None = 0,
  Present = 1,
  Swap = 2,
  /** A migration entry (try_to_unmap with TTU_MIGRATION): `frame` is the page being migrated. */
  Migration = 3,
}

export class PageTable {
  readonly kind: Uint8Array;
  readonly frame: Int32Array;
  readonly write: Uint8Array;
  readonly dirty: Uint8Array;
  readonly young: Uint8Array;
  readonly softDirty: Uint8Array;

  constructor(pages: number) {
    this.kind = new Uint8Array(pages);
    this.frame = new Int32Array(pages).fill(-1);
    this.write = new Uint8Array(pages);
    this.dirty = new Uint8Array(pages);
    this.young = new Uint8Array(pages);
    this.softDirty = new Uint8Array(pages);
  }

  setPresent(p: number, frame: number, write: boolean, dirty: boolean, softDirty: boolean): void {
    this.kind[p] = PteKind.Present;
    this.frame[p] = frame;
    this.write[p] = write ? 1 : 0;
    this.dirty[p] = dirty ? 1 : 0;
    this.young[p] = 1;
    this.softDirty[p] = softDirty ? 1 : 0;
  }

  setSwap(p: number, softDirty: boolean): void {
    this.kind[p] = PteKind.Swap;
    this.frame[p] = -1;
    this.write[p] = 0;
    this.dirty[p] = 0;
    this.young[p] = 0;
    this.softDirty[p] = softDirty ? 1 : 0;
  }

  /** `dirty`: the entry remembers the PTE's dirty bit (make_migration_entry_dirty, v6.1+); else 0. */
  setMigration(p: number, frame: number, write: boolean, dirty: boolean, softDirty: boolean): void {
    this.kind[p] = PteKind.Migration;
    this.frame[p] = frame;
    this.write[p] = write ? 1 : 0; // make_migration_entry(page, pte_write(pteval))
    this.dirty[p] = dirty ? 1 : 0;
    this.young[p] = 0;
    this.softDirty[p] = softDirty ? 1 : 0;
  }

  clear(p: number): void {
    this.kind[p] = PteKind.None;
    this.frame[p] = -1;
    this.write[p] = 0;
    this.dirty[p] = 0;
    this.young[p] = 0;
    this.softDirty[p] = 0;
  }

  /**
   * A value snapshot for pte_same() rechecks: kind, frame, soft-dirty and write bits, packed in one
   * number. x86 pte_same() compares the whole pte value, and _PAGE_SOFT_DIRTY / _PAGE_SWP_SOFT_DIRTY
   * are bits of it: a swap entry that reclaim re-installed soft-dirty (same slot, the page stayed in
   * the swap cache) is not the orig_pte a sleeping do_swap_page() read, which then backs out and
   * refaults (MB-5, docs/explore.md). Soft-dirty changes only under the PT lock, never by hardware.
   * The hardware-set accessed/dirty bits are left out: a retry for them changes no verdict.
   */
  snapshot(p: number): number {
    return this.kind[p] * 0x10000000 + (this.frame[p] + 1) * 4 + this.softDirty[p] * 2 + this.write[p];
  }
}
