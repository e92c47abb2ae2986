import { prng } from '../schedule/random.ts';
import type { ScenarioJson } from '../scenario/compiled.ts';
import type { Variant } from '../variants/presets.ts';
import { iommuOptionsFor } from './era.ts';
import { SHARED_PROGRAM, choiceWeight, type Use } from './choiceTable.ts';
import {
  OP_ARGS,
  PROTECTIONS,
  PT_LOCK_OPTIONS,
  SECONDARY_KINDS,
  VOCABULARY,
  WORLD_DEFAULTS,
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

type Rng = () => number;

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[Math.floor(rng() * xs.length)];
}

function weighted<T>(rng: Rng, items: readonly (readonly [T, number])[]): T {
  let total = 0;
  for (const [, w] of items) total += w;
  let r = rng() * total;
  for (const [x, w] of items) {
    r -= w;
    if (r < 0) return x;
  }
  return items[items.length - 1][0];
}

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
  const kvm = rng() < (iommu === 'none' ? 0.7 : 0.3);
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
      else if (a === 'cell') raw.push(Math.floor(rng() * cells));
      else if (a === 'value') raw.push(nextValue++); // distinct values: a lost or stale write shows
      else raw.push(pick(rng, PROTECTIONS));
    }
    th.ops.push(raw);
    const touched = o.page < 0 ? pageNames.map((_, i) => i) : o.other < 0 ? [o.page] : [o.page, o.other];
    for (const p of touched) uses[p].push({ thread: t, use: { kind: th.kind, op: o.op } });
    return true;
  };

  const opCount = (): number => weighted(rng, [[1, 2], [2, 3], [3, 2], [GENERATOR_BOUNDS.opsPerThread, 1]] as const);
  const fill = (t: number, first: number | null): void => {
    const n = opCount();
    for (let i = 0; i < n; i++) if (!addOp(t, i === 0 ? first : null)) break;
  };

  if (secondary.length > 0 && rng() < SHARED_PROGRAM) {
    // The hot page: a secondary MMU user and a kernel path both start on it; sometimes a second
    // kernel path too (two paths on one page).
    const hot = Math.floor(rng() * nPages);
    fill(newThread(pick(rng, secondary)), hot);
    fill(newThread('kernel'), hot);
    if (rng() < 0.25) fill(newThread('kernel'), hot);
  }
  const extra = weighted(rng, [[0, 2], [1, 3], [2, 2], [3, 1]] as const);
  const kindWeights = kinds.map((k) => [k, k === 'cpu' ? 3 : 2] as const);
  for (let i = 0; i < extra || threads.length === 0; i++) {
    if (threads.length >= GENERATOR_BOUNDS.threads) break;
    fill(newThread(weighted(rng, kindWeights)), null);
  }

  return {
    name: `gen-${seed}`,
    description: `generated program ${seed} (sim/generate)`,
    world: { frames, cells, ptLock, iommu, kvm, ...FIXED_WORLD },
    pages: Object.fromEntries(
      pageNames.map((n, i) => [n, { cells: content[i], ...Object.fromEntries(attrs[i].map((k) => [k, true])) }]),
    ) as ScenarioJson['pages'],
    devices: devices.map((name) => ({ name, ats: !VOCABULARY.atsOptional || rng() < 0.5 })),
    threads: threads.filter((t) => t.ops.length > 0).map((t) => ({ name: t.name, on: t.on, ops: t.ops })),
  };
}

/** The attribute-set key of each page of a program (for coverage and tests). */
export function pageAttrKeys(p: ScenarioJson): Record<string, string> {
  return Object.fromEntries(
    Object.entries(p.pages).map(([n, spec]) => [n, attrKey(Object.keys(spec).filter((k) => k !== 'cells' && (spec as Record<string, unknown>)[k] === true).sort())]),
  );
}
