import { prng } from '../schedule/random.ts';
import type { ScenarioJson } from '../scenario/compiled.ts';
import type { Variant } from '../variants/presets.ts';
import { iommuOptionsFor } from './era.ts';
import { apicPart } from './apicPage.ts';
import { pick, weighted } from './draw.ts';
import { SHARED_PROGRAM, choiceWeight, type Use } from './choiceTable.ts';
import {
  OP_ARGS,
  PROTECTIONS,
  PT_LOCK_OPTIONS,
  SECONDARY_KINDS,
  VOCABULARY,
  WORLD_DEFAULTS,
  ZAP_MODES,
  attrKey,
  opAcceptsPages,
  type ArgKind,
  type AttrSet,
  type IommuOption,
  type OpName,
  type ThreadKind,
} from './vocabulary.ts';

/**
 * Size bounds of a generated program, well inside sim/scenario/limits.ts: small programs run fast
 * and shrink fast, and races between a handful of ops are the ones the catalog shows. validation.ts
 * checks every program against both these and LIMITS.
 */
export const GENERATOR_BOUNDS = {
  pages: 4,
  devices: 2,
  threads: 6,
  opsPerThread: 4,
  cells: 4,
  /** frames above the compile.ts minimum (2 × pages + 2) */
  extraFrames: 8,
} as const;

/**
 * World options the generator keeps at the schema default, and why:
 * - maxSteps: the step budget is a limit of the run, not a kernel behaviour (the step-budget oracle);
 * - maxRetries: the PRI round trips before no-progress fires. A smaller bound would call a device
 *   that loses a few races to CPU writers "livelocked"; 8 is the bound every catalog scenario uses.
 */
export const FIXED_WORLD = { maxSteps: WORLD_DEFAULTS.maxSteps, maxRetries: WORLD_DEFAULTS.maxRetries } as const;

export interface GenerateOptions {
  /** The variant the program will run under: decides which IOMMU kinds existed (era.ts). */
  readonly variant: Variant;
}

/** The share of accesses on cell 0 (the others spread over all cells). */
const HOT_CELL = 0.7;

/** The motifs of the hot page (see generateProgram) and how often each is drawn. */
type Motif = 'kernel' | 'two-kernel' | 'cow' | 'kernel-cpu';
const MOTIF_WEIGHT: readonly (readonly [Motif, number])[] = [
  ['kernel', 4],
  ['two-kernel', 1.5],
  ['cow', 2],
  ['kernel-cpu', 2.5],
];

const IOMMU_WEIGHT: Readonly<Record<string, number>> = { 'amd-v2': 3, 'intel-svm': 2, 'arm-smmu-v3': 2, none: 1.5 };

interface Thread {
  readonly name: string;
  readonly kind: ThreadKind;
  readonly on: string;
  readonly ops: (string | number)[][];
}

/**
 * A program (a scenario) from a seed: world options, pages with attributes, devices, and threads of
 * every kind with ops drawn through the choice table. Pure: the same seed and variant give the same
 * program on any machine (seedrandom's Alea, seeded by `program:<seed>`, as every strategy is).
 */
export function generateProgram(seed: number, opts: GenerateOptions): ScenarioJson {
  const rng = prng(`program:${seed}`);
  const iommus = iommuOptionsFor(opts.variant);
  const iommu = weighted(
    rng,
    iommus.map((o) => [o, IOMMU_WEIGHT[o] ?? 1] as const),
  ) as IommuOption;
  const kvm = VOCABULARY.kvmWith.has(iommu) && rng() < (iommu === 'none' ? 0.7 : 0.3);
  const ptLock = rng() < 0.8 ? PT_LOCK_OPTIONS[0] : pick(rng, PT_LOCK_OPTIONS);
  const cells = weighted(rng, [[1, 1], [2, 3], [3, 2], [4, 2]] as const);

  // Pages: attributes from the sets compile.ts accepts, plain pages most often.
  const nPages = weighted(rng, [[1, 3], [2, 4], [3, 2], [4, 1]] as const);
  const attrChoices = VOCABULARY.attrSets[kvm ? 1 : 0];
  const pageNames: string[] = [];
  const attrs: AttrSet[] = [];
  const content: number[][] = [];
  for (let i = 0; i < nPages; i++) {
    pageNames.push(String.fromCharCode(65 + i));
    attrs.push(weighted(rng, attrChoices.map((a) => [a, a.length === 0 ? 3 : 1.5 / a.length] as const)));
    // Equal content now and then, so ksm-merge's pages_identical can succeed.
    if (i > 0 && rng() < 0.4) content.push([...content[0]]);
    else content.push(Array.from({ length: cells }, () => (rng() < 0.6 ? 0 : 1 + Math.floor(rng() * 9))));
  }
  const frames = 2 * nPages + 2 + weighted(rng, [[0, 1], [2, 2], [4, 3], [GENERATOR_BOUNDS.extraFrames, 2]] as const);

  const devices: string[] = [];
  if (iommu !== 'none') {
    const n = rng() < 0.75 ? 1 : GENERATOR_BOUNDS.devices;
    for (let i = 0; i < n; i++) devices.push(`dev${i}`);
  }
  const kinds: ThreadKind[] = ['cpu', 'kernel'];
  if (devices.length > 0) kinds.push('device');
  if (kvm) kinds.push('vcpu');
  const secondary = kinds.filter((k) => SECONDARY_KINDS.has(k));

  // Per page, the uses by each thread so far: what the choice table weighs the next op against.
  const uses: { thread: number; use: Use }[][] = pageNames.map(() => []);
  const threads: Thread[] = [];
  const counters: Record<string, number> = {};
  let nextValue = 1;
  const newThread = (kind: ThreadKind): number => {
    const n = counters[kind] ?? 0;
    counters[kind] = n + 1;
    const prefix = kind === 'device' ? 'd' : kind === 'kernel' ? 'k' : kind;
    const on = kind === 'device' ? `device:${pick(rng, devices)}` : kind;
    threads.push({ name: `${prefix}${n}`, kind, on, ops: [] });
    return threads.length - 1;
  };

  /** The ops thread t may run on page p (and a partner page for two-page ops), with their weights. */
  const addOp = (t: number, forcePage: number | null): boolean => {
    const th = threads[t];
    const options: { op: OpName; page: number; other: number; w: number }[] = [];
    const pagesToTry = forcePage === null ? pageNames.map((_, i) => i) : [forcePage];
    for (const op of VOCABULARY.opsOf[th.kind]) {
      if (!VOCABULARY.opsInWorld[iommu].has(op)) continue; // clear-refs/pagemap on arm64 (no soft-dirty)
      const args = OP_ARGS[op] as readonly ArgKind[];
      const pageArgs = args.filter((a) => a === 'page' || a === 'otherPage').length;
      if (pageArgs === 0) {
        // An op over every page (clear-refs): weighed against every page's uses.
        const all = uses.flatMap((u) => u.filter((x) => x.thread !== t).map((x) => x.use));
        options.push({ op, page: -1, other: -1, w: choiceWeight(th.kind, op, all) / Math.max(1, pageNames.length) });
        continue;
      }
      for (const p of pagesToTry) {
        const others = uses[p].filter((x) => x.thread !== t).map((x) => x.use);
        if (pageArgs === 1) {
          if (opAcceptsPages(op, attrs[p])) options.push({ op, page: p, other: -1, w: choiceWeight(th.kind, op, others) });
        } else {
          for (let q = 0; q < pageNames.length; q++) {
            if (q !== p && opAcceptsPages(op, attrs[p], attrs[q])) options.push({ op, page: p, other: q, w: choiceWeight(th.kind, op, others) });
          }
        }
      }
    }
    const live = options.filter((o) => o.w > 0);
    if (live.length === 0) return false;
    const o = weighted(rng, live.map((x) => [x, x.w] as const));
    const raw: (string | number)[] = [o.op];
    for (const a of OP_ARGS[o.op] as readonly ArgKind[]) {
      if (a === 'page') raw.push(pageNames[o.page]);
      else if (a === 'otherPage') raw.push(pageNames[o.other]);
      // Mostly cell 0: a stale or lost value shows only where one thread writes and another reads
      // the same cell; other cells now and then (a partial copy, a second cell of a KSM compare).
      else if (a === 'cell') raw.push(rng() < HOT_CELL ? 0 : Math.floor(rng() * cells));
      else if (a === 'value') raw.push(nextValue++); // distinct values: a lost or stale write shows
      else if (a === 'prot') raw.push(pick(rng, PROTECTIONS));
      else {
        const mode = pick(rng, ZAP_MODES);
        if (mode !== null) raw.push(mode);
      }
    }
    th.ops.push(raw);
    const touched = o.page < 0 ? pageNames.map((_, i) => i) : o.other < 0 ? [o.page] : [o.page, o.other];
    for (const p of touched) uses[p].push({ thread: t, use: { kind: th.kind, op: o.op } });
    return true;
  };

  const opCount = (): number => weighted(rng, [[1, 2], [2, 3], [3, 2], [GENERATOR_BOUNDS.opsPerThread, 1]] as const);
  /**
   * Thread t's ops: the first on `first` (when given), each later one on `first` too with
   * probability `stay` (a secondary MMU user fills its ATC/spte and uses it again; a kernel thread
   * runs clear_refs then pagemap, writeback then reclaim, mprotect r then rw on one page), else
   * anywhere through the choice table.
   */
  const fill = (t: number, first: number | null, n: number = opCount(), stay = 0): void => {
    for (let i = 0; i < n; i++) if (!addOp(t, i === 0 || (first !== null && rng() < stay) ? first : null)) break;
  };

  // The hot page: a user of a translation cache (a secondary MMU — device ATC/IOTLB, KVM spte — or,
  // in a world without one, a CPU with its TLB) keeps using one page while kernel paths change its
  // PTE. The paths come in motifs (prio.go's static priorities made concrete: the op pairs of one
  // page that can race):
  // - kernel: one kernel path (reclaim, zap, migrate, KSM, mprotect, clear_refs/pagemap, writeback);
  // - two-kernel: two kernel paths on the page (reclaim vs zap/mprotect: the deferred-flush races);
  // - cow: two CPU writers of a COW page — the first runs the fault path (do_wp_page → wp_page_copy,
  //   itself a kernel path that replaces the PTE), the second writes through the new PTE while the
  //   secondary MMU may still map the old page (Documentation/mm/mmu_notifier.rst's COW table);
  // - kernel-cpu: a kernel path and a CPU writer (soft-dirty after clear_refs, mprotect upgrades,
  //   refaults after reclaim).
  if (rng() < SHARED_PROGRAM) {
    const motif = weighted(rng, MOTIF_WEIGHT);
    let hot = Math.floor(rng() * nPages);
    if (motif === 'cow') {
      // A COW page to fault on: one of the program's, else the hot page becomes one (if this world accepts it).
      const cowPages = attrs.map((a, i) => [a, i] as const).filter(([a]) => a.includes('cow')).map(([, i]) => i);
      if (cowPages.length > 0) hot = pick(rng, cowPages);
      else if (attrChoices.some((a) => attrKey(a) === 'cow')) attrs[hot] = ['cow'];
    }
    const user: ThreadKind = secondary.length > 0 && rng() < 0.9 ? pick(rng, secondary) : 'cpu';
    fill(newThread(user), hot, weighted(rng, [[1, 1], [2, 3], [3, 3], [GENERATOR_BOUNDS.opsPerThread, 1]] as const), 0.85);
    const kernelPath = (): void => fill(newThread('kernel'), hot, opCount(), 0.6);
    const cpuWriter = (): void => fill(newThread('cpu'), hot, weighted(rng, [[1, 3], [2, 2]] as const), 0.8);
    if (motif === 'kernel') kernelPath();
    else if (motif === 'two-kernel') {
      kernelPath();
      kernelPath();
    } else if (motif === 'cow') {
      cpuWriter();
      cpuWriter();
    } else {
      kernelPath();
      cpuWriter();
    }
  }
  const extra = threads.length === 0 ? weighted(rng, [[1, 2], [2, 3], [3, 2]] as const) : weighted(rng, [[0, 5], [1, 3], [2, 1]] as const);
  const kindWeights = kinds.map((k) => [k, k === 'cpu' ? 3 : 2] as const);
  for (let i = 0; i < extra; i++) {
    if (threads.length >= GENERATOR_BOUNDS.threads) break;
    fill(newThread(weighted(rng, kindWeights)), null);
  }

  const devicesOut = devices.map((name) => ({ name, ats: !VOCABULARY.atsOptional || rng() < 0.5 }));
  const threadsOut = threads.filter((t) => t.ops.length > 0).map((t) => ({ name: t.name, on: t.on, ops: t.ops }));
  const pagesOut: Record<string, Record<string, unknown>> = Object.fromEntries(
    pageNames.map((n, i) => [n, { cells: content[i], ...Object.fromEntries(attrs[i].map((k) => [k, true])) }]),
  );
  // KVM's APIC-access page, a part of its own drawn last from its own stream (apicPage.ts).
  let allFrames = frames;
  if (kvm && nPages < GENERATOR_BOUNDS.pages && threadsOut.length + 2 <= GENERATOR_BOUNDS.threads) {
    const apic = apicPart(seed, String.fromCharCode(65 + nPages), cells, nextValue);
    if (apic !== null) {
      pagesOut[apic.page.name] = { cells: apic.page.cells, apicAccess: true };
      threadsOut.push(...apic.threads.map((t) => ({ name: t.name, on: t.on, ops: t.ops })));
      allFrames += 2; // compile.ts wants 2 × pages + 2 at least
    }
  }

  return {
    name: `gen-${seed}`,
    description: `generated program ${seed} (sim/generate)`,
    world: { frames: allFrames, cells, ptLock, iommu, kvm, ...FIXED_WORLD },
    pages: pagesOut as ScenarioJson['pages'],
    devices: devicesOut,
    threads: threadsOut,
  };
}

/**
 * The program seed of a generated program (what generateProgram wrote into its name and
 * description), or null for any other scenario: the farm's minimize job shrinks a generated
 * program's ops and threads as well as its schedule.
 */
export function programSeedOf(s: Pick<ScenarioJson, 'name' | 'description'>): number | null {
  const m = /^generated program (\d+) \(sim\/generate\)$/.exec(s.description ?? '');
  return m !== null && s.name === `gen-${m[1]}` ? Number(m[1]) : null;
}

/** The attribute-set key of each page of a program (for coverage and tests). */
export function pageAttrKeys(p: ScenarioJson): Record<string, string> {
  return Object.fromEntries(
    Object.entries(p.pages).map(([n, spec]) => [n, attrKey(Object.keys(spec).filter((k) => k !== 'cells' && (spec as Record<string, unknown>)[k] === true).sort())]),
  );
}
