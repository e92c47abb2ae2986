import { scenarioSchema, type ScenarioParsed } from './schema.ts';
import { InputError, describeIssues } from './errors.ts';
import { LIMITS } from './limits.ts';
import type { CompiledScenario, Op, PageSpec, Placement, ScenarioJson, ThreadSpec } from './compiled.ts';

/** Kernel ops this simulator implements. An op outside it is rejected, never silently ignored. */
export const KERNEL_OPS = ['reclaim', 'madvise-free', 'zap', 'clear-refs', 'pagemap', 'writeback', 'migrate', 'ksm-merge', 'mprotect'] as const;
export const ACCESS_OPS = ['read', 'write'] as const;

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/**
 * Validates scenario JSON (already parsed from text) and resolves it. Throws InputError listing
 * every problem with the path of the field it is about.
 */
/**
 * Paths of `"__proto__"` keys: JSON.parse keeps one as an own key, but the schema's object
 * copies would drop it silently (assigning it sets the prototype), so a page named so vanished.
 */
function protoKeys(v: unknown, path: string, out: string[]): string[] {
  if (Array.isArray(v)) v.forEach((x, i) => protoKeys(x, `${path}[${i}]`, out));
  else if (v !== null && typeof v === 'object') {
    for (const k of Object.keys(v)) {
      const p = path === '' ? k : `${path}.${k}`;
      if (k === '__proto__') out.push(`${p}: "__proto__" is not allowed as a name`);
      else protoKeys((v as Record<string, unknown>)[k], p, out);
    }
  }
  return out;
}

export function compileScenario(input: unknown): CompiledScenario {
  const bad = protoKeys(input, '', []);
  if (bad.length > 0) throw new InputError('invalid scenario', bad);
  const parsed = scenarioSchema.safeParse(input);
  if (!parsed.success) {
    throw new InputError('invalid scenario', describeIssues(parsed.error.issues, input, scenarioSchema));
  }
  const s = parsed.data;
  const problems: string[] = [];
  const compiled = resolve(s, problems);
  if (problems.length > 0) throw new InputError(`invalid scenario "${s.name}"`, problems);
  return compiled;
}

function resolve(s: ScenarioParsed, problems: string[]): CompiledScenario {
  const world = s.world;
  const pageNames = Object.keys(s.pages);
  const pageIndex = new Map(pageNames.map((n, i) => [n, i]));
  const pages: PageSpec[] = [];
  for (const n of pageNames) {
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(n) || n.length > LIMITS.nameLength) {
      problems.push(`pages.${n}: a page name must start with a letter and use only letters, digits and _`);
    }
    const spec = s.pages[n];
    const cells = spec.cells ?? new Array<number>(world.cells).fill(0);
    if (cells.length !== world.cells) {
      problems.push(`pages.${n}.cells: has ${cells.length} values, world.cells is ${world.cells}`);
    }
    cells.forEach((v, i) => {
      if (v < INT32_MIN || v > INT32_MAX) problems.push(`pages.${n}.cells[${i}]: ${v} is not a 32-bit integer`);
    });
    if (spec.cow && spec.swapped) problems.push(`pages.${n}: a page cannot be both cow and swapped`);
    if (spec.file && (spec.cow || spec.swapped)) {
      problems.push(`pages.${n}: a file page (shared file mapping) is neither cow nor swapped: it lives in the page cache`);
    }
    pages.push({
      name: n,
      cells,
      cow: spec.cow ?? false,
      swapped: spec.swapped ?? false,
      file: spec.file ?? false,
      apicAccess: spec.apicAccess ?? false,
    });
  }
  checkApicPage(s, pages, problems);
  // One zero page, one frame per page, and room for a copy (COW, swap-in) of each.
  const needed = 2 * pages.length + 2;
  if (world.frames < needed) {
    problems.push(`world.frames: ${world.frames} is too few for ${pages.length} pages (need at least ${needed})`);
  }

  const deviceIndex = new Map<string, number>();
  s.devices.forEach((d, i) => {
    if (deviceIndex.has(d.name)) problems.push(`devices[${i}].name: duplicate device "${d.name}"`);
    deviceIndex.set(d.name, i);
    if (!d.ats) {
      // Accepting it would mean modelling it wrongly: the device model resolves every miss with a PRI page request.
      problems.push(
        `devices[${i}].ats: a device without ATS is not modelled: amd_iommu_v2 binds only ATS devices (pdev_iommuv2_enable → pci_enable_ats fails otherwise), and without ATS a device sends no PRI page requests (PRI is an ATS extension), so its faults are unrecoverable DMA errors racefarm does not simulate`,
      );
    }
  });
  if (s.devices.length > 0 && world.iommu === 'none') problems.push('devices: devices need an IOMMU (world.iommu is "none")');
  if (world.ecapDis !== undefined && world.iommu !== 'intel-svm') {
    // Accepting it would mean ignoring it: only intel-svm's intel_flush_svm_range reads ECAP.DIS.
    problems.push(`world.ecapDis: VT-d's Deferred Invalidate Support is a capability of the Intel IOMMU: set world.iommu to "intel-svm" (it is "${world.iommu}")`);
  }

  const threadNames = new Set<string>();
  const threads: ThreadSpec[] = [];
  let cpuCount = 0;
  let vcpuCount = 0;
  let totalOps = 0;
  s.threads.forEach((th, ti) => {
    const at = `threads[${ti}]`;
    if (threadNames.has(th.name)) problems.push(`${at}.name: duplicate thread "${th.name}"`);
    threadNames.add(th.name);
    let on: Placement | null = null;
    if (th.on === 'cpu') on = { kind: 'cpu', cpu: cpuCount++ };
    else if (th.on === 'kernel') on = { kind: 'kernel' };
    else if (th.on === 'vcpu') {
      if (!world.kvm) problems.push(`${at}.on: vcpu threads need KVM: set world.kvm to true`);
      on = { kind: 'vcpu', vcpu: vcpuCount++ };
    } else if (th.on.startsWith('device:')) {
      const dn = th.on.slice('device:'.length);
      const di = deviceIndex.get(dn);
      if (di === undefined) {
        problems.push(`${at}.on: unknown device "${dn}" (devices: ${[...deviceIndex.keys()].join(', ') || 'none'})`);
      } else on = { kind: 'device', device: di };
    } else {
      problems.push(`${at}.on: "${th.on}" is not one of cpu, kernel, vcpu, device:NAME`);
    }
    totalOps += th.ops.length;
    const ops: Op[] = [];
    th.ops.forEach((raw, oi) => {
      const op = resolveOp(raw, `${at}.ops[${oi}]`, on, pageIndex, pages, world.cells, problems);
      if (op) ops.push(op);
    });
    if (on) threads.push({ name: th.name, on, ops });
  });
  if (totalOps > LIMITS.opsTotal) problems.push(`threads: ${totalOps} ops in all, at most ${LIMITS.opsTotal}`);
  checkApicAccesses(s, pageIndex, pages, problems);
  checkArm64World(s, problems);

  const source: ScenarioJson = {
    name: s.name,
    ...(s.description !== undefined ? { description: s.description } : {}),
    ...(s.variant !== undefined ? { variant: s.variant } : {}),
    world: { ...world },
    pages: Object.fromEntries(
      pages.map((p) => [
        p.name,
        {
          cells: [...p.cells],
          ...(p.cow ? { cow: true } : {}),
          ...(p.swapped ? { swapped: true } : {}),
          ...(p.file ? { file: true } : {}),
          ...(p.apicAccess ? { apicAccess: true } : {}),
        },
      ]),
    ),
    devices: s.devices.map((d) => ({ name: d.name, ats: d.ats })),
    threads: s.threads.map((t) => ({ name: t.name, on: t.on, ops: t.ops.map((o) => [...o]) })),
  };
  return {
    name: s.name,
    description: s.description ?? '',
    variant: s.variant,
    world,
    pages,
    devices: s.devices,
    threads,
    cpuCount,
    vcpuCount,
    source,
  };
}

/**
 * The APIC-access page (sim/kernel/kvmApic.ts) is KVM's private memslot APIC_ACCESS_PAGE_PRIVATE_MEMSLOT:
 * one guest page (APIC_DEFAULT_PHYS_BASE) that __x86_set_memory_region() vm_mmap()s
 * MAP_SHARED | MAP_ANONYMOUS in the VM process. Options that cannot describe it are refused.
 */
function checkApicPage(s: ScenarioParsed, pages: readonly PageSpec[], problems: string[]): void {
  const apic = pages.filter((p) => p.apicAccess);
  for (const p of apic) {
    const at = `pages.${p.name}.apicAccess`;
    if (!s.world.kvm) problems.push(`${at}: the APIC-access page is KVM's (its pfn is cached in each vCPU's VMCS): set world.kvm to true`);
    if (p.cow || p.file) {
      problems.push(`${at}: KVM maps the APIC-access page MAP_SHARED | MAP_ANONYMOUS (__x86_set_memory_region), so it is neither cow nor a file page`);
    }
  }
  if (apic.length > 1) {
    problems.push(`pages.${apic[1].name}.apicAccess: there is one APIC-access page (the guest page at APIC_DEFAULT_PHYS_BASE), already "${apic[0].name}"`);
  }
}

/** Who may touch the APIC-access page: one vCPU (its local APIC), and kernel ops that make sense on a shared anonymous page. */
function checkApicAccesses(s: ScenarioParsed, pageIndex: Map<string, number>, pages: readonly PageSpec[], problems: string[]): void {
  const apic = pages.findIndex((p) => p.apicAccess);
  if (apic < 0) return;
  const name = pages[apic].name;
  let vcpuThread = '';
  s.threads.forEach((th, ti) => {
    th.ops.forEach((raw, oi) => {
      const at = `threads[${ti}].ops[${oi}]`;
      const verb = raw[0];
      const touches = raw.slice(1).some((x) => typeof x === 'string' && pageIndex.get(x) === apic);
      if (!touches) return;
      if (verb === 'read' || verb === 'write') {
        if (th.on === 'vcpu') {
          if (vcpuThread !== '' && vcpuThread !== th.name) {
            problems.push(
              `${at}: "${name}" is the APIC-access page and vCPU thread "${vcpuThread}" already accesses it: each vCPU has its own local APIC behind that guest page, and racefarm models the APIC of one`,
            );
          }
          vcpuThread = th.name;
        } else if (th.on === 'cpu' || th.on.startsWith('device:')) {
          problems.push(
            `${at}: "${name}" is the APIC-access page: only a vCPU accesses it (KVM's private memslot is vm_mmap()ed by KVM itself; the VMM and its devices never use that address)`,
          );
        }
      } else if (verb === 'ksm-merge') {
        problems.push(`${at}: "${name}" is the APIC-access page, a MAP_SHARED mapping: KSM merges only private anonymous pages of VM_MERGEABLE areas`);
      } else if (verb === 'madvise-free') {
        problems.push(`${at}: "${name}" is the APIC-access page, a MAP_SHARED mapping: MADV_FREE returns -EINVAL there (madvise_free_single_vma: !vma_is_anonymous)`);
      }
    });
  });
}

/** Ops that exist only where the architecture has a soft-dirty PTE bit. */
const SOFT_DIRTY_OPS: ReadonlySet<string> = new Set(['clear-refs', 'pagemap']);

/**
 * An arm-smmu-v3 world is an arm64 machine (the other IOMMUs and racefarm's KVM are x86), and two
 * things of the model do not exist there:
 * - soft-dirty: arm64 does not select HAVE_ARCH_SOFT_DIRTY (arch/x86/Kconfig does), and mm/Kconfig's
 *   MEM_SOFT_DIRTY "depends on CHECKPOINT_RESTORE && HAVE_ARCH_SOFT_DIRTY && PROC_FS". Without it
 *   fs/proc/task_mmu.c's clear_soft_dirty() is an empty stub (clear_refs write-protects nothing) and
 *   pte_soft_dirty() is `return 0` (include/linux/pgtable.h), so pagemap never reports PM_SOFT_DIRTY
 *   (v6.6.63). clear-refs here would write-protect a PTE no arm64 kernel write-protects.
 * - racefarm's KVM: x86's shadow MMU (arch/x86/kvm/mmu: mmu_spte_clear_track_bits dirtying the page
 *   when a writable spte is dropped, the APIC-access page and KVM_REQ_APIC_PAGE_RELOAD). arm64's
 *   stage-2 (arch/arm64/kvm/mmu.c) is another model, not written.
 */
function checkArm64World(s: ScenarioParsed, problems: string[]): void {
  if (s.world.iommu !== 'arm-smmu-v3') return;
  if (s.world.kvm) {
    problems.push(`world.kvm: racefarm's KVM is x86's shadow MMU (sptes, the APIC-access page), and world.iommu "arm-smmu-v3" makes the machine arm64; arm64's stage-2 MMU is not modelled`);
  }
  s.threads.forEach((th, ti) => {
    th.ops.forEach((raw, oi) => {
      const verb = raw[0];
      if (typeof verb === 'string' && SOFT_DIRTY_OPS.has(verb)) {
        problems.push(
          `threads[${ti}].ops[${oi}][0]: "${verb}" needs soft-dirty, and world.iommu "arm-smmu-v3" makes the machine arm64, which has none (arm64 does not select HAVE_ARCH_SOFT_DIRTY: clear_soft_dirty() is an empty stub and pagemap never reports PM_SOFT_DIRTY)`,
        );
      }
    });
  });
}

function resolveOp(
  raw: (string | number)[],
  at: string,
  on: Placement | null,
  pages: Map<string, number>,
  specs: readonly PageSpec[],
  cells: number,
  problems: string[],
): Op | null {
  const verb = raw[0];
  if (typeof verb !== 'string') {
    problems.push(`${at}[0]: the op name must be a string`);
    return null;
  }
  const page = (i: number): number => {
    const v = raw[i];
    if (typeof v !== 'string') {
      problems.push(`${at}[${i}]: a page name (string) is needed`);
      return -1;
    }
    const p = pages.get(v);
    if (p === undefined) {
      problems.push(`${at}[${i}]: unknown page "${v}" (pages: ${[...pages.keys()].join(', ')})`);
      return -1;
    }
    return p;
  };
  const arity = (n: number, form: string): boolean => {
    if (raw.length !== n) {
      problems.push(`${at}: "${verb}" takes the form ${form}, got ${raw.length} elements`);
      return false;
    }
    return true;
  };
  const isAccessThread = on !== null && on.kind !== 'kernel';
  if ((ACCESS_OPS as readonly string[]).includes(verb)) {
    if (on !== null && !isAccessThread) {
      problems.push(`${at}[0]: "${verb}" is a cpu/device/vcpu op; a kernel thread runs ${KERNEL_OPS.join(', ')}`);
      return null;
    }
    if (verb === 'read') {
      if (!arity(3, '["read", page, cell]')) return null;
    } else if (!arity(4, '["write", page, cell, value]')) return null;
    const p = page(1);
    const c = raw[2];
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c >= cells) {
      problems.push(`${at}[2]: cell must be an integer in [0, ${cells - 1}]`);
      return null;
    }
    if (verb === 'read') return p < 0 ? null : { kind: 'read', page: p, cell: c, value: 0 };
    const v = raw[3];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) {
      problems.push(`${at}[3]: value must be a 32-bit integer`);
      return null;
    }
    return p < 0 ? null : { kind: 'write', page: p, cell: c, value: v };
  }
  if (!(KERNEL_OPS as readonly string[]).includes(verb)) {
    problems.push(`${at}[0]: unknown op "${verb}" (ops: read, write, ${KERNEL_OPS.join(', ')})`);
    return null;
  }
  if (isAccessThread) {
    problems.push(`${at}[0]: "${verb}" is a kernel op; put it on a thread with "on": "kernel"`);
    return null;
  }
  const isFile = (p: number) => p >= 0 && specs[p].file;
  switch (verb) {
    case 'clear-refs':
      return arity(1, '["clear-refs"]') ? { kind: 'clear-refs' } : null;
    case 'ksm-merge': {
      if (!arity(3, '["ksm-merge", page, page]')) return null;
      const p = page(1);
      const q = page(2);
      if (p >= 0 && p === q) problems.push(`${at}[2]: ksm-merge needs two different pages`);
      for (const [i, x] of [[1, p], [2, q]] as const) {
        if (isFile(x)) problems.push(`${at}[${i}]: KSM merges anonymous pages only; "${specs[x].name}" is a file page`);
      }
      return p < 0 || q < 0 || p === q || isFile(p) || isFile(q) ? null : { kind: 'ksm-merge', page: p, other: q };
    }
    case 'zap': {
      // ["zap", page] or ["zap", page, "batch-full"]: the mmu_gather filled up (force_flush in zap_pte_range).
      if (raw.length === 3) {
        const p = page(1);
        if (raw[2] !== 'batch-full') {
          problems.push(`${at}[2]: the only zap option is "batch-full" (the mmu_gather is full: zap_pte_range flushes and frees before range_end)`);
          return null;
        }
        return p < 0 ? null : { kind: 'zap', page: p, batchFull: true };
      }
      if (!arity(2, '["zap", page] or ["zap", page, "batch-full"]')) return null;
      const p = page(1);
      return p < 0 ? null : { kind: 'zap', page: p, batchFull: false };
    }
    case 'mprotect': {
      if (!arity(3, '["mprotect", page, "r" | "rw"]')) return null;
      const p = page(1);
      const prot = raw[2];
      if (prot !== 'r' && prot !== 'rw') {
        problems.push(`${at}[2]: protection must be "r" or "rw"`);
        return null;
      }
      return p < 0 ? null : { kind: 'mprotect', page: p, prot };
    }
    default: {
      if (!arity(2, `["${verb}", page]`)) return null;
      const p = page(1);
      if (p < 0) return null;
      if (verb === 'madvise-free' && isFile(p)) {
        problems.push(`${at}[1]: MADV_FREE applies to anonymous memory only (madvise_free_single_vma returns -EINVAL); "${specs[p].name}" is a file page`);
        return null;
      }
      if (verb === 'writeback' && !isFile(p)) {
        problems.push(`${at}[1]: writeback (page_mkclean) applies to file pages; "${specs[p].name}" is anonymous (mark it "file": true)`);
        return null;
      }
      return { kind: verb as 'reclaim' | 'madvise-free' | 'pagemap' | 'writeback' | 'migrate', page: p };
    }
  }
}
