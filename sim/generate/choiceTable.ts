import { OP_NAMES, SECONDARY_KINDS, VOCABULARY, type OpName, type ThreadKind } from './vocabulary.ts';

/**
 * The generator's weights, after syzkaller's choice table (prog/prio.go): a static priority for every
 * ordered pair of calls, higher when they use the same resource, so that the next call of a program
 * is drawn biased by the calls already in it. Here the resource is a page and a "call" is an op of a
 * thread of some kind; what can race is a secondary MMU's cached translation (device ATC/IOTLB, KVM
 * spte) against a kernel path that changes the PTE under it, and a CPU write (COW, soft-dirty)
 * against both. So:
 *
 * - `opWeight`: how often a thread of a kind draws each op it may run (its share of the vocabulary);
 * - `pairPriority(a, b)`: how much an op `b` is worth on a page that already carries op `a` of
 *   another thread; the highest pairs are secondary access × kernel path;
 * - `sharedProgram`: the share of programs built around one hot page that a secondary MMU user and a
 *   kernel path both touch (otherwise nothing can race); the rest are free-form.
 *
 * Every op of the vocabulary has a positive weight for every kind that may run it, so a long enough
 * run reaches every op (the coverage report checks it).
 */
export interface Use {
  readonly kind: ThreadKind;
  readonly op: OpName;
}

/** Relative frequency of each op per thread kind; ops a kind may not run are dropped by the vocabulary. */
const BASE_WEIGHT: Readonly<Record<ThreadKind, Partial<Record<OpName, number>>>> = {
  cpu: { read: 2, write: 3 },
  device: { read: 3, write: 3 },
  vcpu: { read: 3, write: 3 },
  kernel: {
    reclaim: 3,
    'madvise-free': 1.5,
    zap: 2,
    'clear-refs': 1.5,
    pagemap: 1.5,
    writeback: 2,
    migrate: 2,
    'ksm-merge': 1.5,
    mprotect: 2,
  },
};

/** Weight for an op a later format adds that BASE_WEIGHT does not name yet: still reached, rarely. */
const UNLISTED_WEIGHT = 1;

export const SHARED_PROGRAM = 0.85;

export function opWeight(kind: ThreadKind, op: OpName): number {
  if (!VOCABULARY.opsOf[kind].includes(op)) return 0;
  return BASE_WEIGHT[kind][op] ?? UNLISTED_WEIGHT;
}

function isAccess(op: OpName): boolean {
  return op === 'read' || op === 'write';
}

/**
 * Static priority of op `b` (by a thread of `bKind`) on a page already used by op `a` (of another
 * thread, of `aKind`): 1 for ops that share nothing that can race, up to 8 for a secondary MMU user
 * against a kernel path that invalidates it.
 */
export function pairPriority(a: Use, b: Use): number {
  const sec = (u: Use) => SECONDARY_KINDS.has(u.kind);
  const kern = (u: Use) => u.kind === 'kernel';
  if ((sec(a) && kern(b)) || (kern(a) && sec(b))) return 8;
  // A CPU write against a secondary user: COW (wp_page_copy) replaces the page under the ATC/spte.
  if ((sec(a) && b.kind === 'cpu') || (a.kind === 'cpu' && sec(b))) return b.op === 'write' || a.op === 'write' ? 5 : 2;
  // A CPU access against a kernel path: soft-dirty, write-notify, migration, reclaim refaults.
  if ((a.kind === 'cpu' && kern(b)) || (kern(a) && b.kind === 'cpu')) return 4;
  // Two kernel paths on one page (reclaim vs migrate, KSM vs writeback, …).
  if (kern(a) && kern(b)) return 3;
  if (isAccess(a.op) && isAccess(b.op)) return 2;
  return 1;
}

/**
 * The weight of op `op` by a thread of `kind` on a page whose other-thread uses are `uses`: its base
 * weight times 1 + the sum of its pair priorities (prio.go's "static prio" summed over the calls in
 * the program so far).
 */
export function choiceWeight(kind: ThreadKind, op: OpName, uses: readonly Use[]): number {
  const base = opWeight(kind, op);
  if (base === 0) return 0;
  let prio = 0;
  for (const u of uses) prio += pairPriority(u, { kind, op });
  return base * (1 + prio);
}

/** Every (kind, op) the table can draw: for the coverage report. */
export function drawableOps(): Use[] {
  const out: Use[] = [];
  for (const kind of Object.keys(BASE_WEIGHT) as ThreadKind[]) for (const op of OP_NAMES) if (opWeight(kind, op) > 0) out.push({ kind, op });
  return out;
}
