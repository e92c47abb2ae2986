import type { Gate } from './model/gate.ts';

export type ThreadKind = 'cpu' | 'device' | 'kernel' | 'iommu-fault' | 'vcpu';

/** What a thread's generator yields: the gate of its next step. */
export type Step = Generator<Gate | null, void, void>;

export class SimThread {
  readonly id: number;
  readonly name: string;
  readonly kind: ThreadKind;
  /** A daemon (the IOMMU fault worker) does not keep the run alive and is never "deadlocked". */
  readonly daemon: boolean;
  /** CPU index for cpu threads (its TLB), device index for device threads. */
  readonly unit: number;
  gate: Gate | null = null;
  done = false;
  /** Kernel-function label of the step this thread ran last. */
  label = '';
  /** Page the last step was about, -1 if none (for traces and coverage). */
  page = -1;
  /** Which scenario op (index) the thread is executing, for traces. */
  op = -1;
  gen: Step | null = null;

  constructor(id: number, name: string, kind: ThreadKind, unit: number, daemon = false) {
    this.id = id;
    this.name = name;
    this.kind = kind;
    this.unit = unit;
    this.daemon = daemon;
  }

  runnable(): boolean {
    return !this.done && (this.gate === null || this.gate.isOpen());
  }
}
