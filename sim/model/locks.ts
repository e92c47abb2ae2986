import type { Gate } from './gate.ts';

/** A spinlock (the PT lock, KVM's mmu_lock). Acquire is a step of its own, gated on the lock being free. */
export class SpinLock implements Gate {
  owner = -1;
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
  isOpen(): boolean {
    return this.owner === -1;
  }
  acquire(thread: number): void {
    if (this.owner !== -1) throw new Error(`model bug: ${this.name} acquired by ${thread} while held by ${this.owner}`);
    this.owner = thread;
  }
  release(thread: number): void {
    if (this.owner !== thread) throw new Error(`model bug: ${this.name} released by ${thread}, owner ${this.owner}`);
    this.owner = -1;
  }
}

/** mmap_sem: readers share it, a writer excludes everyone. */
export class RwSem {
  readers = 0;
  writer = -1;
  readonly readGate: Gate = { isOpen: () => this.writer === -1 };
  readonly writeGate: Gate = { isOpen: () => this.writer === -1 && this.readers === 0 };
  downRead(): void {
    this.readers++;
  }
  upRead(): void {
    if (this.readers <= 0) throw new Error('model bug: up_read without down_read');
    this.readers--;
  }
  downWrite(thread: number): void {
    this.writer = thread;
  }
  upWrite(): void {
    this.writer = -1;
  }
}
