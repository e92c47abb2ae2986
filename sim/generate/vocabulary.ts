import { scenarioSchema } from '../scenario/schema.ts';
import { ACCESS_OPS, KERNEL_OPS, compileScenario } from '../scenario/compile.ts';
import type { Placement } from '../scenario/compiled.ts';

/**
 * The op vocabulary a generated program draws from, derived from the scenario format itself so it
 * cannot drift from what a hand-written scenario may say:
 *
 * - op names: compile.ts's ACCESS_OPS and KERNEL_OPS;
 * - page attributes (cow, file, swapped, and any boolean a later format adds): the keys of the zod
 *   page object in schema.ts;
 * - world options (IOMMU kinds, PT-lock granularity): the zod enums of schema.ts;
 * - which thread kind may run which op, which attribute combinations a page may have, and which
 *   pages an op accepts: asked of compileScenario() on one-op probe scenarios when this module loads,
 *   so every refusal of compile.ts (file pages are neither cow nor swapped, KSM merges anonymous
 *   pages only, writeback wants a file page, MADV_FREE an anonymous one, devices without ATS…) is
 *   the generator's refusal too.
 *
 * The one hand-written table is OP_ARGS, the argument form of each op (compile.ts has no table of
 * them, only its switch); `satisfies Record<OpName, …>` makes a new op in compile.ts fail to
 * type-check here until its form is added, and test/generate.test.ts compiles every form.
 */

export type AccessOp = (typeof ACCESS_OPS)[number];
export type KernelOp = (typeof KERNEL_OPS)[number];
export type OpName = AccessOp | KernelOp;

export const OP_NAMES: readonly OpName[] = [...ACCESS_OPS, ...KERNEL_OPS];

/**
 * An argument of an op: a page; a second page other than the first (ksm-merge); a cell index; a
 * 32-bit value to write; an mprotect protection; zap's optional "batch-full" (the mmu_gather filled
 * up: zap_pte_range's force_flush frees the gathered pages before range_end), drawn as present or
 * absent.
 */
export type ArgKind = 'page' | 'otherPage' | 'cell' | 'value' | 'prot' | 'zapMode';

/** The argument form of every op (docs/scenario-format.md, "Ops"), after the op name. */
export const OP_ARGS = {
  read: ['page', 'cell'],
  write: ['page', 'cell', 'value'],
  reclaim: ['page'],
  'madvise-free': ['page'],
  zap: ['page', 'zapMode'],
  'clear-refs': [],
  pagemap: ['page'],
  writeback: ['page'],
  migrate: ['page'],
  'ksm-merge': ['page', 'otherPage'],
  mprotect: ['page', 'prot'],
} as const satisfies Record<OpName, readonly ArgKind[]>;

/** mprotect's protections (compile.ts: `protection must be "r" or "rw"`). */
export const PROTECTIONS = ['r', 'rw'] as const;

/** zap's option (compile.ts: `the only zap option is "batch-full"`); null: the plain form ["zap", page]. */
export const ZAP_MODES = [null, 'batch-full'] as const;

/** Where a thread runs (Placement's kinds); the type check below keeps the list complete. */
export const THREAD_KINDS = ['cpu', 'device', 'vcpu', 'kernel'] as const;
export type ThreadKind = (typeof THREAD_KINDS)[number];
// A placement kind compiled.ts adds without this list growing makes this line fail to compile.
const _allKinds: Record<Placement['kind'], true> = { cpu: true, device: true, vcpu: true, kernel: true };
void _allKinds;

/** Threads that translate through a secondary MMU (an ATC behind the IOMMU, KVM sptes). */
export const SECONDARY_KINDS: ReadonlySet<ThreadKind> = new Set(['device', 'vcpu']);

// ---- world options, read from the zod schema -----------------------------------------------------

const worldShape = scenarioSchema.shape.world.unwrap().shape;

export type IommuOption = 'amd-v2' | 'intel-svm' | 'arm-smmu-v3' | 'none';
export const IOMMU_OPTIONS = worldShape.iommu.unwrap().options as readonly IommuOption[];
export const PT_LOCK_OPTIONS = worldShape.ptLock.unwrap().options as readonly ('per-page' | 'single')[];
/** The schema's world defaults (what "simplify world options" moves toward). */
export const WORLD_DEFAULTS = scenarioSchema.shape.world.parse(undefined);

// ---- page attributes ----------------------------------------------------------------------------

/**
 * Attributes the generator does not draw yet. `apicAccess` is a world-level singleton (one guest APIC
 * page per VM, vCPU access only, never cow/file, KVM worlds only — compile.ts refuses anything else),
 * which a per-page coin cannot respect; generating it needs its own choice, so it is left out for now.
 */
const NOT_GENERATED: readonly string[] = ['cells', 'apicAccess'];

/** Boolean page attributes of the format: every key of the page object except its content and NOT_GENERATED. */
export const PAGE_ATTRIBUTES: readonly string[] = Object.keys(scenarioSchema.shape.pages.valueType.shape).filter((k) => !NOT_GENERATED.includes(k));

/** A set of page attributes, as the sorted list of the ones that are true. */
export type AttrSet = readonly string[];

export function attrKey(a: AttrSet): string {
  return a.join('+') || 'plain';
}

function subsets(xs: readonly string[]): string[][] {
  const out: string[][] = [[]];
  for (const x of xs) for (const s of out.splice(0)) out.push(s, [...s, x]);
  return out.map((s) => [...s].sort());
}

/** Worlds the probes run in: with and without KVM (an attribute may need one or the other). */
interface ProbeWorld {
  readonly kvm: boolean;
}

function probeScenario(world: ProbeWorld, pages: AttrSet[], kind: ThreadKind, op: (string | number)[]): unknown {
  return {
    name: 'probe',
    world: { frames: 64, cells: 2, iommu: 'amd-v2', kvm: world.kvm },
    pages: Object.fromEntries(pages.map((a, i) => [`P${i}`, Object.fromEntries(a.map((k) => [k, true]))])),
    devices: [{ name: 'd0', ats: true }],
    threads: [{ name: 't0', on: kind === 'device' ? 'device:d0' : kind, ops: [op] }],
  };
}

function compiles(s: unknown): boolean {
  try {
    compileScenario(s);
    return true;
  } catch {
    return false;
  }
}

/** A sample instance of an op with its pages set to P0 (and P1). */
function sampleOp(op: OpName): (string | number)[] {
  const out: (string | number)[] = [op];
  for (const a of OP_ARGS[op] as readonly ArgKind[]) {
    if (a === 'zapMode') continue; // the plain form; test/generate.test.ts compiles the other
    out.push(a === 'page' ? 'P0' : a === 'otherPage' ? 'P1' : a === 'cell' ? 0 : a === 'value' ? 1 : PROTECTIONS[0]);
  }
  return out;
}

export interface Vocabulary {
  /** Attribute sets compile.ts accepts on a page, per world (index: kvm ? 1 : 0). */
  readonly attrSets: readonly [readonly AttrSet[], readonly AttrSet[]];
  /** Ops each thread kind may run. */
  readonly opsOf: Readonly<Record<ThreadKind, readonly OpName[]>>;
  /** Per op, the attribute-set keys its (first) page may have; for two-page ops, the keys of valid pairs `a|b`. */
  readonly pageOk: ReadonlyMap<OpName, ReadonlySet<string>>;
  /** Whether compile.ts accepts a device without ATS (it does not: see compile.ts). */
  readonly atsOptional: boolean;
  /** Ops a world with this IOMMU accepts at all (an arm-smmu-v3 world is arm64: no soft-dirty, so no clear-refs or pagemap). */
  readonly opsInWorld: Readonly<Record<IommuOption, ReadonlySet<OpName>>>;
  /** IOMMU kinds whose world may have KVM (not arm-smmu-v3: racefarm's KVM is x86's). */
  readonly kvmWith: ReadonlySet<IommuOption>;
}

/** Asks compile.ts, once, everything the generator needs to know about what it accepts. */
function probeVocabulary(): Vocabulary {
  const all = subsets(PAGE_ATTRIBUTES);
  const attrSets: [AttrSet[], AttrSet[]] = [[], []];
  for (const kvm of [false, true]) {
    for (const a of all) if (compiles(probeScenario({ kvm }, [a], 'kernel', ['pagemap', 'P0']))) attrSets[kvm ? 1 : 0].push(a);
  }
  const anyAttr = [...new Map([...attrSets[0], ...attrSets[1]].map((a) => [attrKey(a), a])).values()];
  const opsOf = {} as Record<ThreadKind, OpName[]>;
  for (const kind of THREAD_KINDS) {
    // An op belongs to a kind when some page it may take makes it compile there (writeback wants a file page).
    opsOf[kind] = OP_NAMES.filter((op) => anyAttr.some((a) => compiles(probeScenario({ kvm: true }, [a, []], kind, sampleOp(op)))));
  }
  const pageOk = new Map<OpName, Set<string>>();
  for (const op of OP_NAMES) {
    const kind = THREAD_KINDS.find((k) => opsOf[k].includes(op)) ?? 'kernel';
    const ok = new Set<string>();
    const two = (OP_ARGS[op] as readonly ArgKind[]).includes('otherPage');
    for (const a of anyAttr) {
      if (two) {
        for (const b of anyAttr) {
          if (compiles(probeScenario({ kvm: true }, [a, b], kind, sampleOp(op))) || compiles(probeScenario({ kvm: false }, [a, b], kind, sampleOp(op)))) {
            ok.add(`${attrKey(a)}|${attrKey(b)}`);
          }
        }
      } else if (compiles(probeScenario({ kvm: true }, [a, []], kind, sampleOp(op))) || compiles(probeScenario({ kvm: false }, [a, []], kind, sampleOp(op)))) {
        ok.add(attrKey(a));
      }
    }
    pageOk.set(op, ok);
  }
  const noAts = {
    name: 'probe',
    world: { frames: 64, cells: 2, iommu: 'amd-v2' },
    pages: { P0: {} },
    devices: [{ name: 'd0', ats: false }],
    threads: [{ name: 't0', on: 'device:d0', ops: [['read', 'P0', 0]] }],
  };
  // Per IOMMU kind, the ops some page lets compile (on a thread of the first kind that runs the op, no device).
  const opsInWorld = {} as Record<IommuOption, Set<OpName>>;
  for (const iommu of IOMMU_OPTIONS) {
    opsInWorld[iommu] = new Set(
      OP_NAMES.filter((op) => {
        const kind = (['cpu', 'kernel'] as const).find((k) => opsOf[k].includes(op)) ?? 'kernel';
        return attrSets[0].some((a) =>
          compiles({
            name: 'probe',
            world: { frames: 64, cells: 2, iommu },
            pages: { P0: Object.fromEntries(a.map((k) => [k, true])), P1: {} },
            devices: [],
            threads: [{ name: 't0', on: kind, ops: [sampleOp(op)] }],
          }),
        );
      }),
    );
  }
  const kvmWith = new Set(
    IOMMU_OPTIONS.filter((iommu) => compiles({ name: 'probe', world: { frames: 64, cells: 2, iommu, kvm: true }, pages: { P0: {} }, devices: [], threads: [{ name: 't0', on: 'vcpu', ops: [['read', 'P0', 0]] }] })),
  );
  return { attrSets, opsOf, pageOk, atsOptional: compiles(noAts), opsInWorld, kvmWith };
}

/** The vocabulary, computed once when the module loads (pure: it depends on the code only). */
export const VOCABULARY: Vocabulary = probeVocabulary();

/** Whether op may take a page of attributes `a` (and, for a two-page op, a second page `b`). */
export function opAcceptsPages(op: OpName, a: AttrSet, b?: AttrSet): boolean {
  const ok = VOCABULARY.pageOk.get(op);
  if (ok === undefined) return false;
  return ok.has(b === undefined ? attrKey(a) : `${attrKey(a)}|${attrKey(b)}`);
}

export function pageArgCount(op: OpName): number {
  return (OP_ARGS[op] as readonly ArgKind[]).filter((a) => a === 'page' || a === 'otherPage').length;
}
