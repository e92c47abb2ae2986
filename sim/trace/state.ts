import type { World } from '../world.ts';
import type { SimThread } from '../thread.ts';
import type { StepObserver } from '../run.ts';
import type { TranslationCache } from '../model/translationCache.ts';
import { PteKind } from '../model/pageTable.ts';

/** One cached translation of a page (CPU TLB, IOTLB, ATC, spte). */
export interface CacheEntryState {
  readonly cache: string;
  readonly frame: number;
  readonly gen: number;
  readonly write: boolean;
  /** The entry no longer matches the PTE: another frame, a freed or reallocated frame, or no PTE. */
  readonly stale: boolean;
  /** Writable while the PTE is read-only. */
  readonly overPermissive: boolean;
}

export interface PageState {
  readonly name: string;
  /** The PTE as traces print it (`frame 3 rw D sd`, `swap:A`, `none`). */
  readonly pte: string;
  /** Open range_start..range_end windows covering the page. */
  readonly windows: number;
  /** Thread holding the page's PT lock, or null. */
  readonly ptl: string | null;
  /** Valid cached translations of the page. */
  readonly cached: readonly CacheEntryState[];
}

export interface FrameState {
  readonly frame: number;
  readonly owner: string;
  readonly gen: number;
  readonly refcount: number;
  readonly mapcount: number;
  readonly dirty: boolean;
  /** A freed frame that a cached translation still points to (poisoned content). */
  readonly free: boolean;
  readonly cells: readonly number[];
}

/** A compact description of the World after a step: what the HTML trace shows on hover/click. */
export interface StateSnapshot {
  readonly pages: readonly PageState[];
  /** Allocated frames (the zero page excepted), and freed frames that a cached translation still names. */
  readonly frames: readonly FrameState[];
  /** mmap_sem, KVM's mmu_lock and sequence counters, pending PRI requests. */
  readonly other: readonly string[];
}

function caches(w: World): TranslationCache[] {
  const out = [...w.cpuTlbs];
  if (w.iommu !== null) {
    out.push(w.iommu.iotlb);
    for (const d of w.iommu.devices) out.push(d.atc);
  }
  if (w.kvm !== null) out.push(w.kvm.spte, ...w.kvm.vmcs);
  return out;
}

/**
 * Reads a World's public fields into a StateSnapshot. `names` maps thread ids to names (lock
 * owners are stored as ids). Costs a few allocations per page: for traced runs only.
 */
export function describeState(w: World, names: readonly string[] = []): StateSnapshot {
  const who = (id: number) => names[id] ?? `thread ${id}`;
  const pt = w.pt;
  const frames = w.frames;
  const all = caches(w);
  const pages: PageState[] = [];
  const named = new Set<number>();
  for (let p = 0; p < w.pageCount; p++) {
    const cached: CacheEntryState[] = [];
    const present = pt.kind[p] === PteKind.Present;
    for (const c of all) {
      if (c.valid[p] === 0) continue;
      const f = c.frame[p];
      named.add(f);
      const stale = !present || pt.frame[p] !== f || frames.free[f] === 1 || frames.gen[f] !== c.gen[p];
      cached.push({ cache: c.name, frame: f, gen: c.gen[p], write: c.write[p] === 1, stale, overPermissive: !stale && c.write[p] === 1 && pt.write[p] === 0 });
    }
    const owner = w.ptl[p].owner;
    pages.push({ name: w.pageName(p), pte: w.pteText(p), windows: w.windows[p], ptl: owner === -1 ? null : who(owner), cached });
  }
  const fs: FrameState[] = [];
  const n = frames.cellsPerFrame;
  for (let f = 0; f < frames.count; f++) {
    if ((frames.free[f] === 1 && !named.has(f)) || f === w.zeroFrame) continue;
    const o = frames.owner[f];
    fs.push({
      frame: f,
      owner: o >= 0 && o < w.pageCount ? w.pageName(o) : '',
      gen: frames.gen[f],
      refcount: frames.refcount[f],
      mapcount: frames.mapcount[f],
      dirty: frames.dirty[f] === 1,
      free: frames.free[f] === 1,
      cells: Array.from(frames.cells.subarray(f * n, f * n + n)),
    });
  }
  const other: string[] = [];
  const sem = w.mmapSem;
  other.push(`mmap_sem: ${sem.writer !== -1 ? `write-held by ${who(sem.writer)}` : sem.readers > 0 ? `${sem.readers} reader${sem.readers > 1 ? 's' : ''}` : 'free'}`);
  if (w.kvm !== null) {
    const k = w.kvm;
    other.push(`kvm: mmu_lock ${k.mmuLock.owner === -1 ? 'free' : `held by ${who(k.mmuLock.owner)}`}, mmu_notifier_seq ${k.seq}, mmu_notifier_count ${k.count}`);
    k.apicReloadPending.forEach((pending, v) => {
      if (pending === 1) other.push(`vcpu${v}: KVM_REQ_APIC_PAGE_RELOAD pending`);
    });
  }
  if (w.iommu !== null) other.push(`${w.iommu.name}: ${w.iommu.faults.length} PRI request(s) queued, ${w.iommu.inFlight} device access(es) waiting`);
  return { pages, frames: fs, other };
}

/**
 * A run observer that records the state before the first step and after every step:
 * `states[0]` is the initial state, `states[i + 1]` the state after step i.
 */
export class StateRecorder implements StepObserver {
  readonly states: StateSnapshot[] = [];
  private names: string[] = [];

  start(w: World, threads: readonly SimThread[]): void {
    this.names = threads.map((t) => t.name);
    this.states.length = 0;
    this.states.push(describeState(w, this.names));
  }

  step(w: World): void {
    this.states.push(describeState(w, this.names));
  }
}
