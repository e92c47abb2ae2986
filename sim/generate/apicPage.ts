import { prng } from '../schedule/random.ts';
import { compileScenario, KERNEL_OPS } from '../scenario/compile.ts';
import { OP_ARGS, PROTECTIONS, ZAP_MODES, type ArgKind, type KernelOp } from './vocabulary.ts';
import { weighted } from './draw.ts';

/**
 * KVM's APIC-access page (page option `apicAccess`, sim/kernel/kvmApic.ts) in generated programs.
 *
 * It is not a per-page coin like cow/file/swapped (vocabulary.ts NOT_GENERATED): there is one per VM,
 * only one vCPU accesses it (its local APIC), never a CPU or a device, and KSM and MADV_FREE refuse
 * its MAP_SHARED mapping (compile.ts checkApicPage/checkApicAccesses). So a KVM program gets it, now
 * and then, as a part of its own: one more page, a vCPU thread that reads and writes it, and a kernel
 * thread whose paths change its PTE (migration is the one bugzilla 197951 was about).
 *
 * The part is drawn from a stream of its own (`program:<seed>:apic`) after the rest of the program,
 * so a program that gets none is exactly the program it was before this part existed (the
 * self-check's program numbers keep their meaning).
 */

/** The share of KVM programs (with room for one more page and two threads) that get an APIC page. */
export const APIC_SHARE = 0.25;

/** A shared anonymous page with the apicAccess option, and a vCPU, in a KVM world. */
function probe(op: (string | number)[]): boolean {
  try {
    compileScenario({
      name: 'probe',
      world: { frames: 8, cells: 2, iommu: 'none', kvm: true },
      pages: { X: { cells: [0, 0], apicAccess: true } },
      devices: [],
      threads: [
        { name: 'v', on: 'vcpu', ops: [['read', 'X', 0]] },
        { name: 'k', on: 'kernel', ops: [op] },
      ],
    });
    return true;
  } catch {
    return false;
  }
}

function sample(op: KernelOp): (string | number)[] {
  const out: (string | number)[] = [op];
  for (const a of OP_ARGS[op] as readonly ArgKind[]) {
    if (a === 'page') out.push('X');
    else if (a === 'prot') out.push(PROTECTIONS[0]);
    else if (a === 'otherPage') out.push('X');
  }
  return out;
}

/**
 * The paths that reach the APIC-access page without the VMM naming it: the kernel's own (migration
 * by compaction or NUMA balancing, reclaim of the shmem page) and pagemap, a read. The VMM's
 * syscalls on KVM's private mapping (MADV_DONTNEED = zap, mprotect) are left out for the reason
 * compile.ts refuses a CPU or device access there: KVM vm_mmap()s that memslot itself and the VMM
 * never uses the address. (A VMM that mprotects it read-only makes gfn_to_pfn fail in
 * vmx_set_apic_access_page_addr, which then keeps a stale APIC_ACCESS_ADDR: self-inflicted, and
 * the first thing this generator found when it drew them — program 1852 under v6.6.)
 */
const UNNAMED_PATHS: Readonly<Partial<Record<KernelOp, number>>> = { migrate: 4, reclaim: 2, pagemap: 0.5 };

/** Those of UNNAMED_PATHS compile.ts accepts on the APIC-access page (asked once, as vocabulary.ts asks). */
export const APIC_KERNEL_OPS: readonly KernelOp[] = KERNEL_OPS.filter((op) => UNNAMED_PATHS[op] !== undefined && probe(sample(op)));

const KERNEL_WEIGHT = UNNAMED_PATHS;

export interface ApicPart {
  readonly page: { readonly name: string; readonly cells: number[] };
  readonly threads: readonly { readonly name: string; readonly on: 'vcpu' | 'kernel'; readonly ops: (string | number)[][] }[];
  /** The next distinct value to write (the program's counter after this part). */
  readonly nextValue: number;
}

/**
 * The APIC part of program `seed`, or null. `pageName` is a page name the program does not use,
 * `cells` the world's cells per page, `nextValue` the program's next distinct write value.
 */
export function apicPart(seed: number, pageName: string, cells: number, nextValue: number): ApicPart | null {
  const rng = prng(`program:${seed}:apic`);
  if (rng() >= APIC_SHARE) return null;
  const draw = <T>(items: readonly (readonly [T, number])[]): T => weighted(rng, items);
  const cell = () => (rng() < 0.8 ? 0 : Math.floor(rng() * cells));
  const content = Array.from({ length: cells }, () => (rng() < 0.5 ? 0 : 1 + Math.floor(rng() * 9)));
  let value = nextValue;
  // The vCPU: a write then reads (what the guest's APIC registers show), or reads only.
  const vcpuOps: (string | number)[][] = [];
  const nAccess = draw([[1, 1], [2, 2], [3, 3]] as const);
  for (let i = 0; i < nAccess; i++) vcpuOps.push(i === 0 && rng() < 0.7 ? ['write', pageName, cell(), value++] : ['read', pageName, cell()]);
  const kernelOps: (string | number)[][] = [];
  const nKernel = draw([[1, 3], [2, 1]] as const);
  const ops = APIC_KERNEL_OPS.map((op) => [op, KERNEL_WEIGHT[op] ?? 0.5] as const);
  for (let i = 0; i < nKernel; i++) {
    const op = draw(ops);
    const raw: (string | number)[] = [op];
    for (const a of OP_ARGS[op] as readonly ArgKind[]) {
      if (a === 'page') raw.push(pageName);
      else if (a === 'prot') raw.push(PROTECTIONS[Math.floor(rng() * PROTECTIONS.length)]);
      else if (a === 'zapMode') {
        const mode = ZAP_MODES[Math.floor(rng() * ZAP_MODES.length)];
        if (mode !== null) raw.push(mode);
      }
    }
    kernelOps.push(raw);
  }
  return {
    page: { name: pageName, cells: content },
    threads: [
      { name: 'vcpu-apic', on: 'vcpu', ops: vcpuOps },
      { name: 'k-apic', on: 'kernel', ops: kernelOps },
    ],
    nextValue: value,
  };
}
