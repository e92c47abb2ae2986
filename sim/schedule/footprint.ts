import type { World } from '../world.ts';
import type { RwSem } from '../model/locks.ts';

/**
 * What one step read and wrote, as ids of state objects (a page's PTE, a frame, mmap_sem, …; see
 * FootprintRecorder for the numbering).
 * Two steps commute when neither writes anything the other reads or writes: that is the
 * independence the exhaustive search's partial-order reduction relies on.
 */
export class Footprint {
  readonly reads = new Set<number>();
  readonly writes = new Set<number>();
  /** Commutative updates (a reader entering or leaving mmap_sem): they commute with each other only. */
  readonly adds = new Set<number>();

  independentOf(o: Footprint): boolean {
    for (const x of this.writes) if (o.writes.has(x) || o.reads.has(x) || o.adds.has(x)) return false;
    for (const x of o.writes) if (this.reads.has(x) || this.adds.has(x)) return false;
    for (const x of this.adds) if (o.reads.has(x)) return false;
    for (const x of o.adds) if (this.reads.has(x)) return false;
    return true;
  }
}

type Indexed = { [i: number]: number; length: number };

/**
 * Records footprints by wrapping every piece of mutable World state that kernel paths touch in a
 * Proxy that notes each read and write. Only the exhaustive search installs it (proxies cost far
 * more than the fuzz hot loop can afford). It over-approximates — whole-array operations count as
 * touching every element, a gate checked between steps counts towards the next step — which can
 * only make the reduction explore more orders, never fewer.
 */
export class FootprintRecorder {
  current = new Footprint();
  /** Named objects (locks, counters) get ids after the per-page and per-frame ranges. */
  private readonly named = new Map<string, number>();
  private nextNamed = 0;
  private ranges = 0;

  /** A contiguous id range of `n` objects (one kind of per-page or per-frame state). */
  private range(n: number): number {
    const base = this.ranges;
    this.ranges += n;
    return base;
  }

  private id(name: string): number {
    let v = this.named.get(name);
    if (v === undefined) {
      v = -1 - this.nextNamed++;
      this.named.set(name, v);
    }
    return v;
  }

  /** Hands out the footprint recorded since the last call and starts a new one. */
  take(): Footprint {
    const f = this.current;
    this.current = new Footprint();
    return f;
  }

  private trackArray<T extends Indexed>(arr: T, base: number, div: number, count: number): T {
    const rec = this;
    return new Proxy(arr, {
      get(target, key) {
        if (typeof key === 'string') {
          const c = key.charCodeAt(0);
          if (c >= 48 && c <= 57) {
            const i = Number(key);
            rec.current.reads.add(base + Math.floor(i / div));
            return target[i];
          }
          if (key === 'length') return target.length;
        }
        const v = Reflect.get(target, key, target);
        if (typeof v === 'function') {
          return (...args: unknown[]) => {
            for (let k = 0; k < count; k++) {
              rec.current.reads.add(base + k);
              rec.current.writes.add(base + k);
            }
            return (v as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return v;
      },
      set(target, key, value) {
        if (typeof key === 'string') {
          const c = key.charCodeAt(0);
          if (c >= 48 && c <= 57) {
            const i = Number(key);
            rec.current.writes.add(base + Math.floor(i / div));
            target[i] = value as number;
            return true;
          }
        }
        return Reflect.set(target, key, value, target);
      },
    });
  }

  /** Scalar fields of an object (a lock's owner, KVM's seq) as one named state object. */
  private trackObject<T extends object>(obj: T, name: string, fields: readonly string[]): T {
    const rec = this;
    const id = this.id(name);
    const tracked = new Set(fields);
    return new Proxy(obj, {
      get(target, key, receiver) {
        if (typeof key === 'string' && tracked.has(key)) rec.current.reads.add(id);
        return Reflect.get(target, key, receiver);
      },
      set(target, key, value, receiver) {
        if (typeof key === 'string' && tracked.has(key)) rec.current.writes.add(id);
        return Reflect.set(target, key, value, receiver);
      },
    });
  }

  /**
   * mmap_sem: down_read/up_read by different threads commute (they only move the reader count, and
   * both need no writer); a writer conflicts with every reader.
   */
  private trackRwSem(sem: RwSem): RwSem {
    const rec = this;
    const writer = this.id('mmap_sem.writer');
    const readers = this.id('mmap_sem.readers');
    return new Proxy(sem, {
      get(target, key, receiver) {
        if (key === 'downRead' || key === 'upRead') {
          rec.current.reads.add(writer);
          rec.current.adds.add(readers);
        } else if (key === 'downWrite' || key === 'upWrite') {
          rec.current.writes.add(writer);
          rec.current.reads.add(readers);
        } else if (key === 'readers') {
          rec.current.reads.add(readers);
        } else if (key === 'writer') {
          rec.current.reads.add(writer);
        }
        return Reflect.get(target, key, receiver);
      },
    });
  }

  /** Replaces World's state with recording views. Call before the first step. */
  install(w: World): void {
    const pages = w.pageCount;
    const cells = w.cellsPerPage;
    const frames = w.frames.count;
    const set = (o: object, k: string, v: unknown) => {
      (o as Record<string, unknown>)[k] = v;
    };
    // Per-page and per-frame state kinds, each its own id range. A frame's allocation state
    // (free, gen: what alloc_page() scans) is apart from the rest, so touching a live frame does
    // not conflict with allocating another.
    const frameAlloc = this.range(frames);
    const frameState = this.range(frames);
    const slot = this.range(pages);
    const pte = this.range(pages);
    const xlat = this.range(pages);
    const win = this.range(pages);
    const vma = this.range(pages);
    const exp = this.range(pages);

    const fr = w.frames as unknown as Record<string, Indexed>;
    for (const k of ['free', 'gen']) set(fr, k, this.trackArray(fr[k], frameAlloc, 1, frames));
    for (const k of ['refcount', 'mapcount', 'dirty', 'lockOwner', 'lazyfree', 'ksm', 'owner']) {
      set(fr, k, this.trackArray(fr[k], frameState, 1, frames));
    }
    set(fr, 'cells', this.trackArray(fr.cells, frameState, w.frames.cellsPerFrame, frames));

    const bk = w.backing as unknown as Record<string, Indexed>;
    set(bk, 'cells', this.trackArray(bk.cells, slot, cells, pages));
    for (const k of ['written', 'swapCache']) set(bk, k, this.trackArray(bk[k], slot, 1, pages));

    const pt = w.pt as unknown as Record<string, Indexed>;
    for (const k of ['kind', 'frame', 'write', 'dirty', 'young', 'softDirty']) set(pt, k, this.trackArray(pt[k], pte, 1, pages));

    // Every translation cache of a page (CPU TLBs, IOTLB, ATCs, sptes) is one object: the
    // split-mapping oracle reads them all together after any step that changes one.
    const caches = [...w.cpuTlbs];
    if (w.iommu) caches.push(w.iommu.iotlb, ...w.iommu.devices.map((d) => d.atc));
    if (w.kvm) caches.push(w.kvm.spte, ...w.kvm.vmcs);
    for (const c of caches) {
      const cr = c as unknown as Record<string, Indexed>;
      for (const k of ['valid', 'frame', 'gen', 'write', 'deferred']) set(cr, k, this.trackArray(cr[k], xlat, 1, pages));
    }

    set(w, 'windows', this.trackArray(w.windows, win, 1, pages));
    set(w, 'vmaWrite', this.trackArray(w.vmaWrite, vma, 1, pages));
    set(w, 'vmaSoftDirty', this.trackArray(w.vmaSoftDirty, vma, 1, pages));

    const o = w.oracles as unknown as Record<string, Indexed>;
    set(o, 'expected', this.trackArray(o.expected, exp, cells, pages));
    set(o, 'known', this.trackArray(o.known, exp, cells, pages));
    set(o, 'exempt', this.trackArray(o.exempt, exp, 1, pages));
    set(o, 'writtenSinceClear', this.trackArray(o.writtenSinceClear, exp, 1, pages));
    set(w, 'oracles', this.trackObject(w.oracles, 'clear-refs', ['clearRefsInFlight']));

    const locks = new Map<object, object>();
    const ptl = w.ptl as unknown as object[];
    for (let i = 0; i < ptl.length; i++) {
      const raw = ptl[i];
      if (!locks.has(raw)) locks.set(raw, this.trackObject(raw, `lock:${(raw as { name: string }).name}`, ['owner']));
      ptl[i] = locks.get(raw)!;
    }
    set(w, 'mmapSem', this.trackRwSem(w.mmapSem));
    set(w, 'mmTlb', this.trackObject(w.mmTlb, 'mm.tlb', ['batched', 'pending']));
    const notifiers = w.notifiers as unknown as object[];
    if (w.iommu) {
      const raw = w.iommu;
      set(raw, 'faults', this.trackObject(raw.faults, 'pri', ['items', 'head']));
      // intel-svm's PASID-state entry (active reference count, DINV): read by every invalidation and
      // device thread start; its pages whose flush was skipped (named by the oracles).
      const dr = raw as unknown as Record<string, Indexed | undefined>;
      if (dr.skipped) set(raw, 'skipped', this.trackArray(dr.skipped, xlat, 1, pages));
      const wrapped = this.trackObject(raw, 'iommu', ['inFlight', 'activeRefs', 'dinv']);
      set(w, 'iommu', wrapped);
      notifiers[notifiers.indexOf(raw)] = wrapped;
    }
    if (w.kvm) {
      const raw = w.kvm;
      set(raw, 'mmuLock', this.trackObject(raw.mmuLock, 'lock:kvm', ['owner']));
      // The APIC-access page's per-vCPU state: the reload request and the APIC registers.
      const vcpus = raw.apicReloadPending.length;
      if (vcpus > 0) {
        const apic = this.range(vcpus);
        set(raw, 'apicReloadPending', this.trackArray(raw.apicReloadPending, apic, 1, vcpus));
        set(raw, 'apicRegs', this.trackArray(raw.apicRegs, apic, cells, vcpus));
      }
      const wrapped = this.trackObject(raw, 'kvm', ['seq', 'count']);
      set(w, 'kvm', wrapped);
      notifiers[notifiers.indexOf(raw)] = wrapped;
    }
    this.take();
  }
}
