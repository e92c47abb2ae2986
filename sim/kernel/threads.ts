import type { World } from '../world.ts';
import { SimThread, type Step } from '../thread.ts';
import type { Op, ThreadSpec } from '../scenario/compiled.ts';
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
      else yield* deviceAccess(w, t, op);
    } else {
      yield* kernelOp(w, t, op);
    }
  }
}

/**
 * The threads of a run, in a fixed order (scenario threads, then the IOMMU fault worker): thread
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
    const t = new SimThread(threads.length, 'iommu-fault', 'iommu-fault', -1, true);
    t.gen = iommuFaultWorker(w, t);
    threads.push(t);
  }
  return threads;
}
