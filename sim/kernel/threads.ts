import type { World } from '../world.ts';
import { SimThread, type Step } from '../thread.ts';
import type { AccessOpSpec, CompiledScenario, Op, ThreadSpec } from '../scenario/compiled.ts';
import { cpuAccess, deviceAccess, iommuFaultWorker } from './access.ts';
import { vcpuAccess } from './kvmFault.ts';
import { reclaim } from './reclaim.ts';
import { madviseFree } from './madvise.ts';
import { zap } from './zap.ts';
import { clearRefs, pagemap } from './softDirty.ts';
import { writeback } from './writeback.ts';
import { mprotect } from './mprotect.ts';
import { migrate } from './migrate.ts';
import { ksmMerge } from './ksm.ts';

function* kernelOp(w: World, t: SimThread, op: Op): Step {
  switch (op.kind) {
    case 'reclaim':
      return yield* reclaim(w, t, op.page);
    case 'madvise-free':
      return yield* madviseFree(w, t, op.page);
    case 'zap':
      return yield* zap(w, t, op.page, op.batchFull);
    case 'clear-refs':
      return yield* clearRefs(w, t);
    case 'pagemap':
      return yield* pagemap(w, t, op.page);
    case 'writeback':
      return yield* writeback(w, t, op.page);
    case 'mprotect':
      return yield* mprotect(w, t, op.page, op.prot);
    case 'migrate':
      return yield* migrate(w, t, op.page);
    case 'ksm-merge':
      return yield* ksmMerge(w, t, op.page, op.other);
    case 'read':
    case 'write':
      throw new Error(`model bug: access op ${op.kind} on a kernel thread passed validation`);
  }
}

function* scenarioThread(w: World, t: SimThread, spec: ThreadSpec): Step {
  for (let i = 0; i < spec.ops.length; i++) {
    const op = spec.ops[i];
    t.op = i;
    if (op.kind === 'read' || op.kind === 'write') {
      if (t.kind === 'cpu') yield* cpuAccess(w, t, op);
      else if (t.kind === 'vcpu') yield* vcpuAccess(w, t, op);
      else yield* deviceThreadAccess(w, t, op, i === 0, i === spec.ops.length - 1);
    } else {
      yield* kernelOp(w, t, op);
    }
  }
}

/**
 * A device thread is one DMA context of the PASID: it makes the PASID active at the device with its
 * first access and inactive after its last (the PASID-state entry's Active Reference Count, which
 * intel-svm's deferred invalidation reads; sim/model/iommu.ts IntelSvm). Activation happens in the
 * first access's first step, before its translation; deactivation in the last access's last step
 * (no step of its own: the schedule of a scenario without ECAP.DIS is unchanged).
 */
function* deviceThreadAccess(w: World, t: SimThread, op: AccessOpSpec, first: boolean, last: boolean): Step {
  yield* deviceAccess(w, t, op, first);
  if (last) w.iommu!.deactivatePasid(w);
}

/**
 * The threads of a run, in a fixed order (scenario threads, then the IOMMU fault workers): thread
 * ids are indices into this list, and recorded decisions name them.
 */
export function createThreads(w: World): SimThread[] {
  const threads: SimThread[] = [];
  w.scenario.threads.forEach((spec, i) => {
    const on = spec.on;
    const kind = on.kind;
    const unit = on.kind === 'cpu' ? on.cpu : on.kind === 'device' ? on.device : on.kind === 'vcpu' ? on.vcpu : -1;
    const t = new SimThread(i, spec.name, kind, unit);
    t.gen = scenarioThread(w, t, spec);
    threads.push(t);
  });
  if (w.iommu !== null) {
    for (let i = 0; i < faultWorkerCount(w.scenario); i++) {
      const t = new SimThread(threads.length, i === 0 ? 'iommu-fault' : `iommu-fault${i}`, 'iommu-fault', -1, true);
      t.gen = iommuFaultWorker(w, t);
      threads.push(t);
    }
  }
  return threads;
}

/**
 * How many threads serve PRI page requests. intel-svm: one, prq_event_thread (the threaded IRQ handler
 * request_threaded_irq(…, prq_event_thread, IRQF_ONESHOT, …) walks the page request queue in order,
 * 4.10–4.15). amd-v2: ppr_notifier queues one work item per fault on iommu_wq =
 * alloc_workqueue("amd_iommu_v2", WQ_MEM_RECLAIM, 0), a concurrency-managed multi-worker workqueue, so
 * do_fault() of several faults — of one device too — runs concurrently and may finish in any order.
 * arm-smmu-v3 (v6.6 drivers/iommu/io-pgfault.c): iopf_queue_alloc() → alloc_workqueue("iopf_queue/%s",
 * WQ_UNBOUND, 0, name), "unordered because the low-level handler enqueues faults by group", one
 * work item per page request group: the same.
 * Each device thread has at most one request outstanding, so one worker per device thread is every
 * concurrency the workqueue can give.
 */
export function faultWorkerCount(sc: CompiledScenario): number {
  if (sc.world.iommu === 'none') return 0;
  if (sc.world.iommu === 'intel-svm') return 1;
  return Math.max(1, sc.threads.filter((th) => th.on.kind === 'device').length);
}
