/**
 * Physical frames. Allocation takes the lowest free frame so that a freed frame is reused at once
 * and deterministically: a stale translation then points at somebody else's data (use-after-free
 * becomes observable), as it does with the kernel's hot per-cpu free lists.
 */
export const POISON = 0x6b6b6b6b; // the kernel's POISON_FREE byte pattern, one word wide

export class FramePool {
  readonly count: number;
  readonly cellsPerFrame: number;
  readonly cells: Int32Array;
  /** Bumped on every allocation: a translation remembers the generation it was made for. */
  readonly gen: Int32Array;
  readonly free: Uint8Array;
  readonly refcount: Int32Array;
  readonly mapcount: Int32Array;
  /** PG_dirty */
  readonly dirty: Uint8Array;
  /** PG_locked, held by the thread id stored here (-1 = unlocked). */
  readonly lockOwner: Int32Array;
  /** !PG_swapbacked on an anonymous page: MADV_FREE (lazyfree) page that reclaim may discard when clean. */
  readonly lazyfree: Uint8Array;
  /** PageKsm: a merged, write-protected page that a write always copies. */
  readonly ksm: Uint8Array;
  /** The virtual page this anonymous frame belongs to (page->index), -1 when free or unknown. */
  readonly owner: Int32Array;

  constructor(count: number, cellsPerFrame: number) {
    this.count = count;
    this.cellsPerFrame = cellsPerFrame;
    this.cells = new Int32Array(count * cellsPerFrame).fill(POISON);
    this.gen = new Int32Array(count);
    this.free = new Uint8Array(count).fill(1);
    this.refcount = new Int32Array(count);
    this.mapcount = new Int32Array(count);
    this.dirty = new Uint8Array(count);
    this.lockOwner = new Int32Array(count).fill(-1);
    this.lazyfree = new Uint8Array(count);
    this.ksm = new Uint8Array(count);
    this.owner = new Int32Array(count).fill(-1);
  }

  /** alloc_page(): lowest free frame, refcount 1; -1 when memory is exhausted. */
  alloc(owner: number): number {
    for (let f = 0; f < this.count; f++) {
      if (this.free[f] === 1) {
        this.free[f] = 0;
        this.gen[f]++;
        this.refcount[f] = 1;
        this.mapcount[f] = 0;
        this.dirty[f] = 0;
        this.lazyfree[f] = 0;
        this.ksm[f] = 0;
        this.lockOwner[f] = -1;
        this.owner[f] = owner;
        return f;
      }
    }
    return -1;
  }

  /** put_page(): drop a reference; the last one frees and poisons the frame. Returns true if freed. */
  put(f: number): boolean {
    if (--this.refcount[f] > 0) return false;
    this.release(f);
    return true;
  }

  /** Free regardless of the count: page_ref_freeze() succeeded, nobody else can hold a reference. */
  release(f: number): void {
    this.refcount[f] = 0;
    this.free[f] = 1;
    this.mapcount[f] = 0;
    this.owner[f] = -1;
    this.lockOwner[f] = -1;
    const base = f * this.cellsPerFrame;
    this.cells.fill(POISON, base, base + this.cellsPerFrame);
  }

  read(f: number, cell: number): number {
    return this.cells[f * this.cellsPerFrame + cell];
  }

  write(f: number, cell: number, value: number): void {
    this.cells[f * this.cellsPerFrame + cell] = value;
  }

  copy(from: number, to: number): void {
    const n = this.cellsPerFrame;
    this.cells.copyWithin(to * n, from * n, from * n + n);
  }

  zero(f: number): void {
    const base = f * this.cellsPerFrame;
    this.cells.fill(0, base, base + this.cellsPerFrame);
  }

  allocatedCount(): number {
    let n = 0;
    for (let f = 0; f < this.count; f++) if (this.free[f] === 0) n++;
    return n;
  }
}
