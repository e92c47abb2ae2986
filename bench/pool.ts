import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { compiledModule } from '../farm/compiled.ts';
import type { Task, TaskMessage, TaskReply } from './task.ts';

interface Slot {
  proc: ChildProcess;
  /** Ran a task that fed Proxies through the simulator's hot paths (see `run`). */
  dirty: boolean;
  busy: boolean;
  resolve: ((r: TaskReply) => void) | null;
}

interface Queued {
  task: Task;
  proxies: boolean;
  resolve: (r: TaskReply) => void;
}

/**
 * A pool of bench worker processes (bench/task.ts), each running one task at a time.
 *
 * JIT hygiene: a task that runs the simulator over Proxy-wrapped state (the memory-baseline
 * recorder, the exhaustive search's footprint recorder) turns the simulator's inline caches
 * megamorphic for the rest of that process's life, which slows every later run there several times
 * over. Such a task marks its process dirty; a dirty process only gets further proxy tasks, and a
 * clean task never runs in one — the slot gets a fresh process first.
 */
export class TaskPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Queued[] = [];
  /** bench/task.ts, compiled when dist/ is current (farm/compiled.ts): no tsx start-up per process. */
  private readonly compiled = compiledModule(new URL('./task.ts', import.meta.url));
  private readonly entry = fileURLToPath(this.compiled ?? new URL('./task.ts', import.meta.url));
  private nextId = 0;
  private closed = false;

  constructor(size: number) {
    for (let i = 0; i < size; i++) {
      const slot: Slot = { proc: null as unknown as ChildProcess, dirty: false, busy: false, resolve: null };
      this.spawn(slot);
      this.slots.push(slot);
    }
  }

  private spawn(slot: Slot): void {
    const p = fork(this.entry, [], { execArgv: this.compiled ? [] : ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    slot.proc = p;
    slot.dirty = false;
    p.on('message', (m: TaskReply) => {
      if (slot.proc !== p) return;
      const done = slot.resolve;
      slot.resolve = null;
      slot.busy = false;
      done?.(m);
      this.pump();
    });
    p.on('exit', (code, signal) => {
      if (slot.proc !== p || this.closed) return;
      const done = slot.resolve;
      slot.resolve = null;
      slot.busy = false;
      done?.({ id: -1, ok: false, error: `bench worker exited (${signal ?? code}) during the task`, ms: 0 });
      this.spawn(slot);
      this.pump();
    });
  }

  /**
   * Queues a task; `proxies` says it runs the simulator through Proxy-wrapped state. Tasks start in
   * the order they were queued, except that a dirty process picks the next proxy task first.
   */
  run(task: Task, proxies = false): Promise<TaskReply> {
    return new Promise((resolve) => {
      this.queue.push({ task, proxies, resolve });
      this.pump();
    });
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.busy || this.queue.length === 0) continue;
      let i = 0;
      if (slot.dirty) {
        const j = this.queue.findIndex((q) => q.proxies);
        if (j >= 0) i = j;
        else {
          const old = slot.proc;
          this.spawn(slot); // a clean task: fresh process
          old.kill('SIGTERM');
        }
      }
      const q = this.queue.splice(i, 1)[0];
      slot.busy = true;
      slot.resolve = q.resolve;
      if (q.proxies) slot.dirty = true;
      slot.proc.send({ id: this.nextId++, task: q.task } satisfies TaskMessage);
    }
  }

  close(): void {
    this.closed = true;
    for (const s of this.slots) if (s.proc.exitCode === null && s.proc.pid !== undefined) s.proc.kill('SIGTERM');
  }
}
