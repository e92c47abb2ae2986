import type { World } from '../world.ts';
import type { SimThread, Step } from '../thread.ts';
import type { Gate } from '../model/gate.ts';
import { PteKind } from '../model/pageTable.ts';
import { PageRequest } from '../model/iommu.ts';
import type { TranslationCache } from '../model/translationCache.ts';
import { FaultResult, handleMmFault } from './fault.ts';

export interface AccessOp {
  readonly kind: 'read' | 'write';
  readonly page: number;
  readonly cell: number;
  /** The value written; 0 for reads. */
  readonly value: number;
}

export function touchFrame(w: World, t: SimThread, op: AccessOp, f: number, via: string, cache: TranslationCache | null): void {
  if (op.kind === 'write') {
    w.frames.write(f, op.cell, op.value);
    w.oracles.onWrite(op.page, op.cell, op.value, cache, f);
    if (w.tracing) w.note(`${w.pageName(op.page)}[${op.cell}] := ${op.value} in frame ${f} via ${via}`);
  } else {
    const v = w.frames.read(f, op.cell);
    w.oracles.onRead(op.page, op.cell, v, `${via} → frame ${f}`, cache, f);
    if (w.tracing) w.note(`${w.pageName(op.page)}[${op.cell}] = ${v} from frame ${f} via ${via}`);
  }
}

/**
 * One CPU load/store: TLB hit, or the x86 page walker (which sets the accessed/dirty bits
 * atomically and fills the TLB), all in one atomic step. Returns false when it must fault.
 */
function tryCpuAccess(w: World, t: SimThread, tlb: TranslationCache, op: AccessOp): boolean {
  const p = op.page;
  const write = op.kind === 'write';
  t.label = write ? 'cpu store' : 'cpu load';
  t.page = p;
  if (tlb.valid[p] === 1 && (!write || tlb.write[p] === 1)) {
    w.oracles.checkCachedAccess(tlb, p, write);
    touchFrame(w, t, op, tlb.frame[p], tlb.name, tlb);
    return true;
  }
  const pt = w.pt;
  if (pt.kind[p] === PteKind.Present && (!write || pt.write[p] === 1)) {
    const f = pt.frame[p];
    pt.young[p] = 1;
    if (write) pt.dirty[p] = 1; // the hardware D bit; soft-dirty is software's and is not touched
    tlb.fill(p, f, w.frames.gen[f], pt.write[p] === 1 && pt.dirty[p] === 1);
    w.touch(p);
    touchFrame(w, t, op, f, 'page walk', null);
    return true;
  }
  t.label = write ? 'cpu store: page fault' : 'cpu load: page fault';
  if (w.tracing) w.note(`${w.pageName(p)} ${w.pteText(p)}: #PF`);
  return false;
}

/** A CPU thread's access: retry after do_page_fault() → handle_mm_fault() until it succeeds. */
export function* cpuAccess(w: World, t: SimThread, op: AccessOp): Step {
  const tlb = w.cpuTlbs[t.unit];
  for (;;) {
    yield null;
    if (tryCpuAccess(w, t, tlb, op)) return;
    // do_page_fault() → __do_page_fault(): down_read(&mm->mmap_sem)
    yield w.mmapSem.readGate;
    t.label = 'do_page_fault: down_read(mmap_sem)';
    w.mmapSem.downRead();
    const r = yield* handleMmFault(w, t, op.page, op.kind === 'write');
    yield null;
    t.label = r === FaultResult.SigSegv ? 'do_page_fault: up_read(mmap_sem), SIGSEGV' : 'do_page_fault: up_read(mmap_sem)';
    w.mmapSem.upRead();
    if (r === FaultResult.SigSegv) {
      if (w.tracing) w.note(`${op.kind} of ${w.pageName(op.page)} killed by SIGSEGV: the op is abandoned`);
      return;
    }
  }
}

/**
 * One device access (DMA with ATS): an ATC hit accesses the frame; otherwise an ATS translation
 * request goes to the IOMMU, which answers from its IOTLB or by a hardware walk of the PTE (no PT
 * lock). A walk grants write only on a writable PTE that is already dirty, unless the IOMMU sets
 * the dirty bit itself (site iommu.setsDirty, by default as the hardware does: Iommu.walkSetsAccessedDirty).
 * All in one atomic step; false means "needs PRI".
 */
function tryDeviceAccess(w: World, t: SimThread, op: AccessOp): boolean {
  const iommu = w.iommu!;
  const dev = iommu.devices[t.unit];
  const p = op.page;
  const write = op.kind === 'write';
  t.label = write ? 'device DMA write' : 'device DMA read';
  t.page = p;
  const atc = dev.atc;
  if (dev.ats && atc.valid[p] === 1 && (!write || atc.write[p] === 1)) {
    w.oracles.checkCachedAccess(atc, p, write);
    touchFrame(w, t, op, atc.frame[p], atc.name, atc);
    return true;
  }
  const iotlb = iommu.iotlb;
  if (iotlb.valid[p] === 1 && (!write || iotlb.write[p] === 1)) {
    w.oracles.checkCachedAccess(iotlb, p, write);
    if (dev.ats) {
      atc.fill(p, iotlb.frame[p], iotlb.gen[p], iotlb.write[p] === 1);
      w.touch(p);
    }
    touchFrame(w, t, op, iotlb.frame[p], iotlb.name, iotlb);
    return true;
  }
  if (write && iommu.cachesPermissionFaults && iotlb.valid[p] === 1) {
    // The cached read-only entry answers the ATS request: permission fault, no walk.
    t.label = 'device DMA write: ATS translation fault (cached read-only entry)';
    if (w.tracing) w.note(`${iotlb.name} still holds ${w.pageName(p)} read-only; PTE ${w.pteText(p)}: PRI page request`);
    return false;
  }
  const pt = w.pt;
  const sd = w.sites['iommu.setsDirty'];
  const setsDirty = sd === 'true' || (sd === 'hardware' && iommu.walkSetsAccessedDirty);
  if (pt.kind[p] === PteKind.Present && (!write || (pt.write[p] === 1 && (pt.dirty[p] === 1 || setsDirty)))) {
    const f = pt.frame[p];
    if (setsDirty) {
      pt.young[p] = 1;
      if (write) pt.dirty[p] = 1;
    }
    const grantWrite = pt.write[p] === 1 && pt.dirty[p] === 1;
    const gen = w.frames.gen[f];
    iotlb.fill(p, f, gen, grantWrite);
    if (dev.ats) atc.fill(p, f, gen, grantWrite);
    w.touch(p);
    touchFrame(w, t, op, f, `${iommu.name} walk`, null);
    return true;
  }
  t.label = write ? 'device DMA write: ATS translation fault' : 'device DMA read: ATS translation fault';
  if (w.tracing) w.note(`${w.pageName(p)} ${w.pteText(p)}: PRI page request`);
  return false;
}

/** A device thread's access: on a failed translation, a PRI page request and a wait for its response. */
export function* deviceAccess(w: World, t: SimThread, op: AccessOp, activatesPasid = false): Step {
  const iommu = w.iommu!;
  let gate: Gate | null = null;
  let requests = 0;
  for (;;) {
    yield gate;
    if (activatesPasid) {
      // The thread's first DMA makes the PASID active at the device (sim/kernel/threads.ts).
      activatesPasid = false;
      iommu.activatePasid(w);
    }
    if (gate instanceof PageRequest && gate.failed) {
      // The PRI response said "invalid" (access_error in do_fault): the DMA is aborted.
      t.label = 'device DMA: PRI response invalid, abort';
      t.page = op.page;
      iommu.inFlight--;
      return;
    }
    const ok = tryDeviceAccess(w, t, op);
    if (requests > 0 && (ok || requests >= w.scenario.world.maxRetries)) iommu.inFlight--;
    if (ok) return;
    if (++requests > w.scenario.world.maxRetries) {
      w.oracles.report(
        'no-progress',
        op.page,
        `${t.name} needed more than ${w.scenario.world.maxRetries} PRI round trips to ${op.kind} ${w.pageName(op.page)} (PTE ${w.pteText(op.page)})`,
      );
      return;
    }
    const req = new PageRequest(t.unit, op.page, op.kind === 'write');
    iommu.faults.push(req);
    if (requests === 1) iommu.inFlight++;
    gate = req;
  }
}

/**
 * The IOMMU's page-fault worker (amd_iommu_v2 do_fault(), run from iommu_wq): for each PRI request,
 * down_read(mmap_sem), handle_mm_fault(FAULT_FLAG_WRITE if the device asked to write), up_read,
 * then the PRI response (finish_pri_tag → amd_iommu_complete_ppr) releases the device.
 */
export function* iommuFaultWorker(w: World, t: SimThread): Step {
  const iommu = w.iommu!;
  const sem = w.mmapSem;
  const work: Gate = { isOpen: () => iommu.faults.isOpen() && sem.readGate.isOpen() };
  for (;;) {
    yield work;
    const req = iommu.faults.shift()!;
    t.label = 'do_fault: down_read(mmap_sem)';
    t.page = req.page;
    sem.downRead();
    const r = yield* handleMmFault(w, t, req.page, req.write);
    yield null;
    t.label = r === FaultResult.SigSegv ? 'do_fault: up_read + finish_pri_tag(PPR_INVALID)' : 'do_fault: up_read + finish_pri_tag';
    t.page = req.page;
    sem.upRead();
    req.failed = r === FaultResult.SigSegv;
    req.done = true;
  }
}
