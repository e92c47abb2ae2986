import { FramePool } from './model/frames.ts';
import { BackingStore } from './model/backing.ts';
import { PageTable, PteKind } from './model/pageTable.ts';
import { RwSem, SpinLock } from './model/locks.ts';
import { TranslationCache } from './model/translationCache.ts';
import { Device, createIommu, type Iommu } from './model/iommu.ts';
import { Kvm } from './model/kvm.ts';
import { MmTlbState } from './model/mmTlb.ts';
import type { MmuNotifierOps, PageRange } from './model/secondaryMmu.ts';
import type { Sites } from './variants/sites.ts';
import type { CompiledScenario } from './scenario/compiled.ts';
import { Oracles } from './oracles/oracles.ts';
import type { SimThread } from './thread.ts';

/** A run hit a resource limit of the model (not a race): reported as step-budget. */
export class SimLimit extends Error {}

/**
 * Everything one run simulates: one mm bound to the device's PASID, its page table and locks, the
 * CPU TLBs, the IOMMU with its devices, the notifier chain, and the oracles watching them.
 * A World is built fresh for a schedule, or reset to its initial state (sim/worldSnapshot.ts, one
 * buffer for all typed arrays): keep per-run state in own properties, never in closures, so the reset sees it.
 */
export class World {
  readonly scenario: CompiledScenario;
  readonly sites: Sites;
  readonly pageCount: number;
  readonly cellsPerPage: number;
  readonly frames: FramePool;
  readonly backing: BackingStore;
  readonly pt: PageTable;
  /** PT lock protecting each page's PTE: one per page, or one object shared by all (split PTL off). */
  readonly ptl: SpinLock[];
  readonly mmapSem = new RwSem();
  readonly cpuTlbs: TranslationCache[];
  /** mm->tlb_flush_batched (sim/kernel/tlbBatch.ts). */
  readonly mmTlb = new MmTlbState();
  readonly iommu: Iommu | null;
  readonly kvm: Kvm | null;
  readonly notifiers: MmuNotifierOps[] = [];
  /** VM_WRITE of the vma holding each page (mprotect changes it). */
  readonly vmaWrite: Uint8Array;
  /** VM_SOFTDIRTY of the vma holding each page: set when mapped, cleared by clear_refs. */
  readonly vmaSoftDirty: Uint8Array;
  /** Page belongs to a shared file mapping. */
  readonly isFile: Uint8Array;
  /** Open mmu_notifier range_start..range_end windows covering each page. */
  readonly windows: Int32Array;
  readonly oracles: Oracles;
  readonly allPages: PageRange;
  /** The shared zero page (my_zero_pfn): read faults on untouched anonymous memory map it read-only. */
  readonly zeroFrame: number;

  /** Index of the step being executed. */
  step = 0;
  /** Thread running the current step. */
  current: SimThread | null = null;
  tracing: boolean;
  /** Effects of the current step, when tracing. */
  effects: string[] = [];

  /** Pages whose translations, locks or windows changed in this step: the split-mapping oracle re-checks them. */
  readonly touchedFlag: Uint8Array;
  readonly touchedList: number[] = [];
  /** Label of the step that last changed each page's translations, for a violation's participants. */
  readonly lastChange: string[];
  /** Thread names of the step that last changed each page's translations. */
  readonly lastChangeBy: string[];
  /** What each PTE mapped when touch() last looked: frame (-1 if none), its generation, write bit. */
  private readonly seenFrame: Int32Array;
  private readonly seenGen: Int32Array;
  private readonly seenWrite: Uint8Array;
  /** Label of the step that ended each (page, frame, generation) mapping. */
  private unmappedBy: Map<number, string> | null = null;
  /** Label of the step that last write-protected each page's PTE while it kept its frame. */
  readonly wrprotectedBy: string[];
  /** Label of the step that last made each page's PTE writable (mapped it writable, or upgraded it). */
  readonly writeEnabledBy: string[];

  constructor(scenario: CompiledScenario, sites: Sites, tracing: boolean) {
    this.scenario = scenario;
    this.sites = sites;
    this.tracing = tracing;
    const world = scenario.world;
    const pages = scenario.pages.length;
    this.pageCount = pages;
    this.cellsPerPage = world.cells;
    this.allPages = { first: 0, last: pages - 1 };
    this.frames = new FramePool(world.frames, world.cells);
    this.backing = new BackingStore(pages, world.cells);
    this.pt = new PageTable(pages);
    if (world.ptLock === 'per-page') {
      this.ptl = scenario.pages.map((p) => new SpinLock(`ptl(${p.name})`));
    } else {
      const shared = new SpinLock('ptl');
      this.ptl = scenario.pages.map(() => shared);
    }
    this.cpuTlbs = [];
    for (let i = 0; i < scenario.cpuCount; i++) this.cpuTlbs.push(new TranslationCache(`cpu${i}.tlb`, pages, 'cpu-tlb'));
    if (world.iommu !== 'none') {
      const devices = scenario.devices.map((d, i) => new Device(i, d.name, d.ats, pages));
      this.iommu = createIommu(world.iommu, pages, devices);
      this.notifiers.push(this.iommu);
    } else {
      this.iommu = null;
    }
    if (world.kvm) {
      const apic = scenario.pages.findIndex((p) => p.apicAccess);
      this.kvm = new Kvm(pages, scenario.vcpuCount, apic, apic >= 0 ? scenario.pages[apic].cells : []);
      this.notifiers.push(this.kvm);
    } else {
      this.kvm = null;
    }
    this.windows = new Int32Array(pages);
    this.vmaWrite = new Uint8Array(pages).fill(1);
    this.vmaSoftDirty = new Uint8Array(pages).fill(1);
    this.isFile = Uint8Array.from(scenario.pages, (p) => (p.file ? 1 : 0));
    this.touchedFlag = new Uint8Array(pages);
    this.lastChange = new Array<string>(pages).fill('initial');
    this.lastChangeBy = new Array<string>(pages).fill('');
    this.seenFrame = new Int32Array(pages).fill(-1);
    this.seenGen = new Int32Array(pages);
    this.seenWrite = new Uint8Array(pages);
    this.wrprotectedBy = new Array<string>(pages).fill('');
    this.writeEnabledBy = new Array<string>(pages).fill('initial');
    this.oracles = new Oracles(this);

    this.zeroFrame = this.frames.alloc(-1);
    this.frames.zero(this.zeroFrame);
    this.frames.refcount[this.zeroFrame] = 1 << 30;

    // The initial state: each page populated (present, writable unless COW), or swapped out.
    for (let p = 0; p < pages; p++) {
      const spec = scenario.pages[p];
      if (spec.file) {
        // In the page cache and mapped; write-notify keeps a shared file PTE read-only and clean
        // until the first write fault (do_page_mkwrite), and the file holds the same content.
        const f = this.frames.alloc(p);
        if (f < 0) throw new Error('model bug: the scenario validator let through more pages than frames');
        this.frames.cells.set(spec.cells, f * world.cells);
        this.backing.cells.set(spec.cells, p * world.cells);
        this.backing.written[p] = 1;
        this.backing.swapCache[p] = f;
        this.frames.mapcount[f] = 1;
        this.frames.refcount[f] = 2;
        this.pt.setPresent(p, f, false, false, true);
      } else if (spec.swapped) {
        this.backing.cells.set(spec.cells, p * world.cells);
        this.backing.written[p] = 1;
        this.pt.setSwap(p, true);
      } else {
        const f = this.frames.alloc(p);
        if (f < 0) throw new Error('model bug: the scenario validator let through more pages than frames');
        this.frames.cells.set(spec.cells, f * world.cells);
        this.frames.mapcount[f] = spec.cow ? 2 : 1;
        this.frames.refcount[f] = spec.cow ? 2 : 1;
        this.pt.setPresent(p, f, !spec.cow, !spec.cow, true);
      }
      this.oracles.expectInitial(p, spec.cells);
      this.observePte(p, 'initial');
    }
  }

  /**
   * Notes when the PTE of p stopped mapping a (frame, generation) or lost its write bit, and which
   * step did it: a stale cached entry is then named by the kernel function that made it stale.
   */
  private observePte(p: number, label: string): void {
    const pt = this.pt;
    const present = pt.kind[p] === PteKind.Present;
    const f = present ? pt.frame[p] : -1;
    const g = present ? this.frames.gen[f] : 0;
    const wr = present && pt.write[p] === 1 ? 1 : 0;
    const sf = this.seenFrame[p];
    if (sf >= 0 && (sf !== f || this.seenGen[p] !== g)) {
      (this.unmappedBy ??= new Map()).set(this.mappingKey(p, sf, this.seenGen[p]), label);
    } else if (sf >= 0 && this.seenWrite[p] === 1 && wr === 0) {
      this.wrprotectedBy[p] = label;
    }
    if (wr === 1 && (sf !== f || this.seenGen[p] !== g || this.seenWrite[p] === 0)) this.writeEnabledBy[p] = label;
    this.seenFrame[p] = f;
    this.seenGen[p] = g;
    this.seenWrite[p] = wr;
  }

  private mappingKey(p: number, frame: number, gen: number): number {
    return (p * 4096 + frame) * 1048576 + gen;
  }

  /** The label of the step that ended page p's mapping of (frame, gen), or '' if it is still mapped. */
  unmappedLabel(p: number, frame: number, gen: number): string {
    return this.unmappedBy?.get(this.mappingKey(p, frame, gen)) ?? '';
  }

  /** alloc_page(); running out of frames ends the run with a step-budget report, it is not a race. */
  allocFrame(owner: number): number {
    const f = this.frames.alloc(owner);
    if (f < 0) throw new SimLimit(`out of frames (${this.frames.count}) at step ${this.step}`);
    return f;
  }

  pageName(p: number): string {
    return this.scenario.pages[p].name;
  }

  rangeText(r: PageRange): string {
    if (r.first === r.last) return this.pageName(r.first);
    if (r.first === 0 && r.last === this.pageCount - 1) return 'all';
    return `${this.pageName(r.first)}..${this.pageName(r.last)}`;
  }

  note(text: string): void {
    this.effects.push(text);
  }

  /** A page's translation state changed in this step: re-check it, and remember who changed it. */
  touch(p: number): void {
    this.recheck(p);
    const t = this.current;
    if (t !== null) {
      this.lastChange[p] = t.label;
      this.lastChangeBy[p] = t.name;
      this.observePte(p, t.label);
    }
  }

  /** A page's exemption (lock, window) changed: re-check it without blaming the step for its state. */
  recheck(p: number): void {
    if (this.touchedFlag[p] === 0) {
      this.touchedFlag[p] = 1;
      this.touchedList.push(p);
    }
  }

  /** flush_tlb_page()/flush_tlb_range(): IPIs are synchronous, every CPU TLB drops the range. */
  flushCpuTlbs(r: PageRange): void {
    for (let p = r.first; p <= r.last; p++) {
      let dropped = false;
      for (const tlb of this.cpuTlbs) dropped = tlb.flush(p) || dropped;
      if (dropped) this.touch(p);
    }
    if (this.tracing) this.note(`flush_tlb ${this.rangeText(r)}`);
  }

  ptlHeld(p: number): boolean {
    return this.ptl[p].owner !== -1;
  }

  /** Human-readable PTE, for traces. */
  pteText(p: number): string {
    const pt = this.pt;
    switch (pt.kind[p] as PteKind) {
      case PteKind.None:
        return 'none';
      case PteKind.Swap:
        return `swap:${this.pageName(p)}${pt.softDirty[p] ? ' sd' : ''}`;
      case PteKind.Migration:
        return `migration:${pt.frame[p]}${pt.write[p] ? ' w' : ''}`;
      default:
        return `frame ${pt.frame[p]} ${pt.write[p] ? 'rw' : 'ro'}${pt.dirty[p] ? ' D' : ''}${pt.softDirty[p] ? ' sd' : ''}`;
    }
  }
}
