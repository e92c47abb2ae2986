/**
 * Swap space with its swap cache, and the file backing shared file pages with their page cache
 * (one slot per page either way; for a file page `swapCache` is its page-cache entry). Each virtual page owns one swap slot (the slot number is the page
 * index): racefarm never runs out of swap, and which slot a page gets does not matter to any race.
 * The swap cache keeps the frame findable by a concurrent fault between add_to_swap() and
 * __remove_mapping(); without it a fault during reclaim would read the slot before pageout wrote it.
 */
export class BackingStore {
  private readonly cellsPerSlot: number;
  readonly cells: Int32Array;
  /** Slot has been written by pageout at least once. */
  readonly written: Uint8Array;
  /** Swap cache: slot → frame, -1 when the slot's page is not in the swap cache. */
  readonly swapCache: Int32Array;

  constructor(slots: number, cellsPerSlot: number) {
    this.cellsPerSlot = cellsPerSlot;
    this.cells = new Int32Array(slots * cellsPerSlot);
    this.written = new Uint8Array(slots);
    this.swapCache = new Int32Array(slots).fill(-1);
  }

  writeFromFrame(slot: number, frameCells: Int32Array, frame: number): void {
    const n = this.cellsPerSlot;
    this.cells.set(frameCells.subarray(frame * n, frame * n + n), slot * n);
    this.written[slot] = 1;
  }

  readIntoFrame(slot: number, frameCells: Int32Array, frame: number): void {
    const n = this.cellsPerSlot;
    frameCells.set(this.cells.subarray(slot * n, slot * n + n), frame * n);
  }

  read(slot: number, cell: number): number {
    return this.cells[slot * this.cellsPerSlot + cell];
  }
}
