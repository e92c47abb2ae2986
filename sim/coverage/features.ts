import type { World } from '../world.ts';
import type { SimThread } from '../thread.ts';
import type { StepObserver } from '../run.ts';
import type { TranslationCache } from '../model/translationCache.ts';
import { PteKind } from '../model/pageTable.ts';
import { fnv1a64 } from '../util/hash.ts';

/**
 * Coverage features, as readable strings (a feature's id for the farm is
 * `featureId(feature)`):
 *
 * - `pair`: `P|<label>|<other>` — a step of thread t, and the last *conflicting* step by another
 *   thread on the same page. A step writes the pages whose translations, locks or windows it
 *   changed (the World's touched list) and reads the page it is about; two steps conflict when one
 *   of them writes. `<other>` is `-` when no other thread conflicted yet.
 * - `transition`: `N|<before>><after>` — a page's notifier state changed in one step. The state is
 *   what the invalidation protocol is about: range_start..end window open, PT lock held, the PTE
 *   (kind and write bit), and whether the CPU TLBs and the secondary translations (IOTLB, ATCs,
 *   sptes) hold nothing, a consistent copy, a stale one, or a writable one over a read-only PTE;
 *   with KVM, whether mmu_notifier_count is raised.
 */
export type Feature = string;

const NONE = -1;

/** The cache state summary: 0 nothing cached, 1 consistent, 2 writable over a read-only PTE, 3 stale. */
function cacheState(w: World, c: TranslationCache, p: number, acc: number): number {
  if (c.valid[p] === 0) return acc;
  const pt = w.pt;
  const f = c.frame[p];
  let s = 1;
  if (pt.kind[p] !== PteKind.Present || pt.frame[p] !== f || w.frames.gen[f] !== c.gen[p] || w.frames.free[f] === 1) s = 3;
  else if (c.write[p] === 1 && pt.write[p] === 0) s = 2;
  return s > acc ? s : acc;
}

/** A page's notifier state as a small integer (see notifierStateText). */
export function notifierState(w: World, p: number): number {
  let tlb = 0;
  for (const c of w.cpuTlbs) tlb = cacheState(w, c, p, tlb);
  let sec = 0;
  const iommu = w.iommu;
  if (iommu !== null) {
    sec = cacheState(w, iommu.iotlb, p, sec);
    for (const d of iommu.devices) sec = cacheState(w, d.atc, p, sec);
  }
  if (w.kvm !== null) {
    sec = cacheState(w, w.kvm.spte, p, sec);
    for (const v of w.kvm.vmcs) sec = cacheState(w, v, p, sec);
  }
  const kvmBusy = w.kvm !== null && w.kvm.count > 0 ? 1 : 0;
  const pte = w.pt.kind[p] * 2 + w.pt.write[p];
  return (
    (w.windows[p] > 0 ? 1 : 0) |
    ((w.ptlHeld(p) ? 1 : 0) << 1) |
    (pte << 2) | // 3 bits
    (tlb << 5) | // 2 bits
    (sec << 7) | // 2 bits
    (kvmBusy << 9)
  );
}

const PTE_TEXT = ['none', 'none', 'present-ro', 'present-rw', 'swap', 'swap', 'migration-ro', 'migration-rw'];
const CACHE_TEXT = ['empty', 'ok', 'writable-over-ro', 'stale'];

/** `window,ptl,present-rw,tlb=ok,sec=stale,kvm-count` — the parts that hold. */
export function notifierStateText(code: number): string {
  const parts: string[] = [];
  if (code & 1) parts.push('window');
  if (code & 2) parts.push('ptl');
  parts.push(PTE_TEXT[(code >> 2) & 7]);
  parts.push(`tlb=${CACHE_TEXT[(code >> 5) & 3]}`);
  parts.push(`sec=${CACHE_TEXT[(code >> 7) & 3]}`);
  if (code & 512) parts.push('kvm-count');
  return parts.join(',');
}

/**
 * Collects the features of runs into a set (a campaign's, or one run's), counting how many were
 * new to it. One observer can watch many runs in turn: `start` resets the per-run history.
 *
 * The hot loop never builds a feature's text: labels and notifier-state texts are interned to small
 * integers, a feature is one integer (`pairKey`, `transitionKey`), and only an integer this observer
 * has not seen before is turned into its readable string and looked up in `features`. The readable
 * string stays the feature's identity (featureId hashes it, campaigns merge it across processes), so
 * which features are new — and with it the coverage strategy's corpus — is exactly what the
 * string-per-step version computed.
 */
export class CoverageObserver implements StepObserver {
  readonly features: Set<Feature>;
  /** Features this observer added to `features` since it was made (or since `takeAdded`). */
  added = 0;
  // Per page: the most recent access (thread, label id), and the most recent by a different thread;
  // the same for writes. Label ids index `labels`; 0 is "no step yet" (the `-` of a feature).
  private aT = new Int32Array(0);
  private aL = new Int32Array(0);
  private a2T = new Int32Array(0);
  private a2L = new Int32Array(0);
  private wT = new Int32Array(0);
  private wL = new Int32Array(0);
  private w2T = new Int32Array(0);
  private w2L = new Int32Array(0);
  private state = new Int32Array(0);
  /** Interned step labels: id → text (id 0 is `-`), and text → id. */
  private readonly labels: string[] = ['-'];
  private readonly labelId = new Map<string, number>();
  /** Notifier-state code → id of its readable text (distinct codes can read the same). */
  private readonly stateId = new Map<number, number>();
  private readonly stateTexts: string[] = [];
  private readonly stateTextId = new Map<string, number>();
  /** Integer features already looked up in `features` by this observer. */
  private readonly seen = new Set<number>();

  constructor(into: Set<Feature> = new Set()) {
    this.features = into;
  }

  takeAdded(): number {
    const n = this.added;
    this.added = 0;
    return n;
  }

  /** Feature `key` (see pairKey/transitionKey); its text is built only the first time this observer meets it. */
  private add(key: number): void {
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const f = this.featureText(key);
    if (this.features.has(f)) return;
    this.features.add(f);
    this.added++;
  }

  private featureText(key: number): string {
    const kind = key % 2;
    const rest = (key - kind) / 2;
    const a = Math.floor(rest / ID_SPAN);
    const b = rest % ID_SPAN;
    return kind === PAIR ? `P|${this.labels[a]}|${this.labels[b]}` : `N|${this.stateTexts[a]}>${this.stateTexts[b]}`;
  }

  private label(text: string): number {
    let id = this.labelId.get(text);
    if (id === undefined) {
      id = this.labels.length;
      if (id >= ID_SPAN) throw new Error(`model bug: more than ${ID_SPAN} distinct step labels`);
      this.labels.push(text);
      this.labelId.set(text, id);
    }
    return id;
  }

  private stateOf(code: number): number {
    let id = this.stateId.get(code);
    if (id === undefined) {
      const text = notifierStateText(code);
      id = this.stateTextId.get(text);
      if (id === undefined) {
        id = this.stateTexts.length;
        this.stateTexts.push(text);
        this.stateTextId.set(text, id);
      }
      this.stateId.set(code, id);
    }
    return id;
  }

  start(w: World): void {
    const n = w.pageCount;
    this.aT = new Int32Array(n).fill(NONE);
    this.a2T = new Int32Array(n).fill(NONE);
    this.wT = new Int32Array(n).fill(NONE);
    this.w2T = new Int32Array(n).fill(NONE);
    this.aL = new Int32Array(n);
    this.a2L = new Int32Array(n);
    this.wL = new Int32Array(n);
    this.w2L = new Int32Array(n);
    this.state = new Int32Array(n);
    for (let p = 0; p < n; p++) this.state[p] = notifierState(w, p);
  }

  step(w: World, t: SimThread): void {
    const id = t.id;
    const label = this.label(t.label);
    const touched = w.touchedList;
    for (let i = 0; i < touched.length; i++) {
      const p = touched[i];
      // A write conflicts with the last access by another thread.
      this.add(pairKey(label, this.aT[p] !== id ? this.other(this.aT[p], this.aL[p]) : this.other(this.a2T[p], this.a2L[p])));
      this.note(p, id, label, true);
    }
    const p = t.page;
    if (p >= 0 && p < this.aT.length && w.touchedFlag[p] === 0) {
      // A read conflicts with the last write by another thread.
      this.add(pairKey(label, this.wT[p] !== id ? this.other(this.wT[p], this.wL[p]) : this.other(this.w2T[p], this.w2L[p])));
      this.note(p, id, label, false);
    } else if (p < 0 && touched.length === 0) {
      this.add(pairKey(label, 0));
    }
    for (let q = 0; q < this.state.length; q++) {
      const s = notifierState(w, q);
      if (s !== this.state[q]) {
        this.add(transitionKey(this.stateOf(this.state[q]), this.stateOf(s)));
        this.state[q] = s;
      }
    }
  }

  private other(thread: number, label: number): number {
    return thread === NONE ? 0 : label;
  }

  private note(p: number, id: number, label: number, write: boolean): void {
    if (this.aT[p] === id) this.aL[p] = label;
    else {
      this.a2T[p] = this.aT[p];
      this.a2L[p] = this.aL[p];
      this.aT[p] = id;
      this.aL[p] = label;
    }
    if (!write) return;
    if (this.wT[p] === id) this.wL[p] = label;
    else {
      this.w2T[p] = this.wT[p];
      this.w2L[p] = this.wL[p];
      this.wT[p] = id;
      this.wL[p] = label;
    }
  }
}

/** Interned ids (labels, notifier-state texts) stay below this, so a feature is one exact integer. */
const ID_SPAN = 1 << 20;
const PAIR = 0;
const TRANSITION = 1;

/** `P|<label>|<other>` as an integer: both label ids and the kind bit. */
function pairKey(label: number, other: number): number {
  return (label * ID_SPAN + other) * 2 + PAIR;
}

/** `N|<before>><after>` as an integer: both state-text ids and the kind bit. */
function transitionKey(before: number, after: number): number {
  return (before * ID_SPAN + after) * 2 + TRANSITION;
}

/** A feature's compact id (16 hex digits) for results that cross processes. */
export function featureId(f: Feature): string {
  return fnv1a64(f);
}

/** Adds `from` to `into`; returns how many were new. */
export function mergeFeatures(into: Set<string>, from: Iterable<string>): number {
  let n = 0;
  for (const f of from) {
    if (!into.has(f)) {
      into.add(f);
      n++;
    }
  }
  return n;
}
