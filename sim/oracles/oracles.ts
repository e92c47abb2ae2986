import type { World } from '../world.ts';
import { PteKind } from '../model/pageTable.ts';
import { DeferState, type TranslationCache } from '../model/translationCache.ts';
import type { OracleName, Violation } from './violation.ts';

/**
 * The oracles of docs/oracles.md, kept incrementally: reads and writes are checked as they happen,
 * split-mapping only for the pages a step touched, lost-write once at the end. Each oracle reports
 * its first violation in a run; the run goes on so that later, different oracles can still fire
 * (a missed soft-dirty bit shows up after the split mapping that caused it).
 */
export class Oracles {
  private readonly w: World;
  private readonly cells: number;
  /** Last value written to (page, cell) in step order, valid where `known` is set. */
  readonly expected: Int32Array;
  readonly known: Uint8Array;
  /** zap / madvise-free in flight on the page: its accesses are unchecked, its expectation restarts. */
  readonly exempt: Int32Array;
  /** A write to the page completed while no clear-refs was in flight, since the last one started. */
  readonly writtenSinceClear: Uint8Array;
  /** For soft-dirty-missed: how the first write since the last clear_refs reached the page. */
  private readonly missedVia: string[];
  clearRefsInFlight = 0;
  /** Where the last write of each (page, cell) went: the frame, its generation, and through what. */
  private readonly writeFrame: Int32Array;
  private readonly writeGen: Int32Array;
  private readonly writeVia: string[];
  readonly violations: Violation[] = [];
  private readonly fired = new Set<OracleName>();

  constructor(w: World) {
    this.w = w;
    this.cells = w.cellsPerPage;
    this.expected = new Int32Array(w.pageCount * this.cells);
    this.known = new Uint8Array(w.pageCount * this.cells);
    this.exempt = new Int32Array(w.pageCount);
    this.writtenSinceClear = new Uint8Array(w.pageCount);
    this.missedVia = new Array<string>(w.pageCount).fill('');
    this.writeFrame = new Int32Array(w.pageCount * this.cells).fill(-1);
    this.writeGen = new Int32Array(w.pageCount * this.cells);
    this.writeVia = new Array<string>(w.pageCount * this.cells).fill('pte');
  }

  /**
   * The participants of a violation through a stale cached entry of page p: the class of cache
   * that held it and the kernel function whose step made it stale (ended the PTE's mapping of
   * that frame). Neither the seed, nor which CPU or device, nor the step that tripped over it.
   */
  private staleEntry(kind: string, p: number, frame: number, gen: number): string[] {
    const gone = this.w.unmappedLabel(p, frame, gen) || 'still mapped';
    // An IOMMU entry that outlived a notification because the driver skipped its flush (intel-svm's
    // deferred invalidation): the skip is the race, so it is named too.
    const skipped = kind === 'iommu' && this.w.iommu !== null ? this.w.iommu.skippedFlushLabel(p) : '';
    return skipped ? [kind, skipped, gone] : [kind, gone];
  }

  expectInitial(p: number, cells: readonly number[]): void {
    for (let c = 0; c < cells.length; c++) {
      this.expected[p * this.cells + c] = cells[c];
      this.known[p * this.cells + c] = 1;
    }
  }

  hasFired(o: OracleName): boolean {
    return this.fired.has(o);
  }

  report(oracle: OracleName, page: number, message: string, participants?: string[]): void {
    if (this.fired.has(oracle)) return;
    this.fired.add(oracle);
    const w = this.w;
    const t = w.current;
    const label = t?.label ?? 'end of run';
    this.violations.push({
      oracle,
      step: w.step,
      thread: t?.id ?? -1,
      label,
      page: page >= 0 ? w.pageName(page) : '',
      message,
      participants: participants ?? (page >= 0 ? [label, w.lastChange[page]] : [label]),
    });
  }

  /** An access through a cached translation: the frame must still be the one translated. */
  checkCachedAccess(cache: TranslationCache, p: number, write: boolean): void {
    const f = cache.frame[p];
    const frames = this.w.frames;
    if (frames.free[f] === 1 || frames.gen[f] !== cache.gen[p]) {
      if (this.fired.has('use-after-free')) return;
      const state = frames.free[f] === 1 ? 'a free frame' : `frame ${f} reallocated to another page`;
      this.report(
        'use-after-free',
        p,
        `${this.w.current?.name} ${write ? 'wrote' : 'read'} ${this.w.pageName(p)} through a stale ${cache.name} entry → ${state} (translated at generation ${cache.gen[p]}, now ${frames.gen[f]})`,
        this.staleEntry(cache.kind, p, f, cache.gen[p]),
      );
    }
  }

  /** A read of (p, cell) from `frame`, through `cache` (null: a page walk). */
  onRead(p: number, cell: number, value: number, via: string, cache: TranslationCache | null, frame: number): void {
    if (this.exempt[p] > 0) return;
    const i = p * this.cells + cell;
    if (this.known[i] === 1 && this.expected[i] !== value && !this.fired.has('stale-read')) {
      // Through a stale entry: that entry is the race. Through the page table: the last write went
      // to another frame (through a stale entry, or before a copy), and that is the race.
      const participants =
        cache !== null
          ? this.staleEntry(cache.kind, p, frame, cache.gen[p])
          : ['pte', ...this.staleEntry(this.writeVia[i], p, this.writeFrame[i], this.writeGen[i])];
      this.report(
        'stale-read',
        p,
        `${this.w.current?.name} read ${this.w.pageName(p)}[${cell}] = ${value} via ${via}, but the last value written was ${this.expected[i]}`,
        participants,
      );
    }
  }

  /** A write of (p, cell) into `frame`, through `cache` (null: a page walk). */
  onWrite(p: number, cell: number, value: number, cache: TranslationCache | null, frame: number): void {
    if (this.exempt[p] > 0) return;
    const i = p * this.cells + cell;
    this.expected[i] = value;
    this.known[i] = 1;
    this.writeFrame[i] = frame;
    this.writeGen[i] = cache !== null ? cache.gen[p] : this.w.frames.gen[frame];
    this.writeVia[i] = cache !== null ? cache.kind : 'pte';
    if (this.clearRefsInFlight === 0 && this.writtenSinceClear[p] === 0) {
      this.writtenSinceClear[p] = 1;
      // What let the first write after clear_refs through: a cached translation, or the step that
      // made the PTE writable (soft-dirty-missed names it, so its signature names the race).
      this.missedVia[p] = cache !== null ? cache.kind : `pte made writable by ${this.w.writeEnabledBy[p]}`;
    }
  }

  beginExempt(p: number): void {
    this.exempt[p]++;
  }

  /** The zap / madvise-free returned: the page's content is no longer promised until it is written. */
  endExempt(p: number): void {
    this.exempt[p]--;
    if (this.exempt[p] === 0) {
      this.known.fill(0, p * this.cells, (p + 1) * this.cells);
      this.writtenSinceClear[p] = 0;
    }
  }

  beginClearRefs(): void {
    this.clearRefsInFlight++;
    this.writtenSinceClear.fill(0);
  }

  endClearRefs(): void {
    this.clearRefsInFlight--;
  }

  onPagemap(p: number, softDirty: boolean): void {
    if (softDirty || this.clearRefsInFlight > 0 || this.writtenSinceClear[p] === 0) return;
    this.report(
      'soft-dirty-missed',
      p,
      `pagemap reports ${this.w.pageName(p)} clean, but it was written after the last clear_refs returned (first write via ${this.missedVia[p]}; last change: ${this.w.lastChange[p]})`,
      [this.w.current?.label ?? 'end of run', this.missedVia[p]],
    );
  }

  /** split-mapping for the pages the last step touched. */
  checkTouched(): void {
    const w = this.w;
    const list = w.touchedList;
    for (let i = 0; i < list.length; i++) {
      const p = list[i];
      w.touchedFlag[p] = 0;
      if (!this.fired.has('split-mapping')) this.checkSplit(p);
    }
    list.length = 0;
  }

  private checkSplit(p: number): void {
    const w = this.w;
    if (w.windows[p] > 0 || w.ptlHeld(p)) return;
    const pt = w.pt;
    const frames = w.frames;
    let frame = -1;
    let gen = 0;
    let first = '';
    const present = pt.kind[p] === PteKind.Present;
    if (present) {
      frame = pt.frame[p];
      gen = frames.gen[frame];
      first = 'PTE';
    }
    this.splitFrame = frame;
    this.splitGen = gen;
    this.splitFirst = first;
    const pteWritable = present && pt.write[p] === 1;
    for (const tlb of w.cpuTlbs) {
      // A CPU TLB entry whose flush is deferred (sim/kernel/tlbBatch.ts): the kernel tolerates it
      // while the flush is owed; once a path that had to flush it first let it live on, it is the race.
      const d = tlb.deferred[p] as DeferState;
      if (d === DeferState.Overdue && tlb.valid[p] === 1) {
        this.report(
          'split-mapping',
          p,
          `${tlb.name} still translates ${w.pageName(p)} → frame ${tlb.frame[p]} (PTE ${w.pteText(p)}): a stale entry of a deferred TLB flush outlived an operation that had to flush it first`,
          this.staleEntry(tlb.kind, p, tlb.frame[p], tlb.gen[p]),
        );
        return;
      }
      if (d !== DeferState.None) continue;
      if (this.splitCheckOne(p, tlb, false, pteWritable)) return;
    }
    const iommu = w.iommu;
    // intel-svm's deferred invalidation (sim/model/iommu.ts IntelSvm): while DINV is pending and no
    // device has the PASID active nobody translates through the PASID's entries, and the hardware
    // invalidates them before the PASID is used again.
    if (iommu !== null && !iommu.toleratesStaleEntries()) {
      if (this.splitCheckOne(p, iommu.iotlb, true, pteWritable)) return;
      for (const d of iommu.devices) if (this.splitCheckOne(p, d.atc, true, pteWritable)) return;
    }
    if (w.kvm !== null) this.splitCheckOne(p, w.kvm.spte, true, pteWritable);
  }

  // The first valid translation seen by the split-mapping check of one page (fields, not a closure:
  // this runs after most steps and must not allocate).
  private splitFrame = -1;
  private splitGen = 0;
  private splitFirst = '';

  private splitCheckOne(p: number, c: TranslationCache, secondary: boolean, pteWritable: boolean): boolean {
    if (c.valid[p] === 0) return false;
    const w = this.w;
    if (secondary && c.write[p] === 1 && !pteWritable) {
      // Stale because the PTE lost that frame, or because it was write-protected in place.
      const gone = w.unmappedLabel(p, c.frame[p], c.gen[p]);
      this.report(
        'split-mapping',
        p,
        `${c.name} holds a writable translation of ${w.pageName(p)} → frame ${c.frame[p]} while the PTE is ${w.pteText(p)}, outside any range_start/end window and PT lock`,
        [c.kind, gone || `write-protected by ${w.wrprotectedBy[p] || 'nobody'}`],
      );
      return true;
    }
    if (this.splitFrame === -1) {
      this.splitFrame = c.frame[p];
      this.splitGen = c.gen[p];
      this.splitFirst = c.name;
      return false;
    }
    if (c.frame[p] !== this.splitFrame || c.gen[p] !== this.splitGen) {
      // With a present PTE first in line, `c` is the stale one; otherwise both are, name `c`.
      this.report(
        'split-mapping',
        p,
        `${w.pageName(p)} has two translations outside any range_start/end window and PT lock: ${this.splitFirst} → frame ${this.splitFrame}, ${c.name} → frame ${c.frame[p]}`,
        this.staleEntry(c.kind, p, c.frame[p], c.gen[p]),
      );
      return true;
    }
    return false;
  }

  /** lost-write: read every expected cell through the page table or the backing store. */
  checkEnd(): void {
    const w = this.w;
    const pt = w.pt;
    for (let p = 0; p < w.pageCount; p++) {
      if (this.exempt[p] > 0) continue;
      // The APIC-access page's cells are the vCPU's APIC registers, never stored in the frame
      // (sim/kernel/kvmApic.ts): there is no memory content to lose.
      if (w.kvm !== null && w.kvm.apicPage === p) continue;
      for (let c = 0; c < this.cells; c++) {
        const i = p * this.cells + c;
        if (this.known[i] === 0) continue;
        let value: number;
        let via: string;
        const kind = pt.kind[p] as PteKind;
        if (kind === PteKind.Present) {
          value = w.frames.read(pt.frame[p], c);
          via = `frame ${pt.frame[p]}`;
        } else if (kind === PteKind.Migration) {
          value = w.frames.read(pt.frame[p], c);
          via = `frame ${pt.frame[p]} under migration`;
        } else if (kind === PteKind.Swap || w.isFile[p] === 1) {
          const f = w.backing.swapCache[p];
          value = f >= 0 ? w.frames.read(f, c) : w.backing.read(p, c);
          via = f >= 0 ? `cached frame ${f}` : 'the backing store';
        } else {
          value = 0;
          via = 'an unmapped (zero-fill) PTE';
        }
        if (value !== this.expected[i]) {
          this.report(
            'lost-write',
            p,
            `at the end ${w.pageName(p)}[${c}] reads ${value} via ${via}, but the last value written was ${this.expected[i]} (last change: ${w.lastChange[p]} by ${w.lastChangeBy[p]})`,
            this.staleEntry(this.writeVia[i], p, this.writeFrame[i], this.writeGen[i]),
          );
          return;
        }
      }
    }
  }
}
