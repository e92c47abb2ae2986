import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Task, TaskMessage, TaskReply } from './task.ts';

/**
 * A pool of bench worker processes (bench/task.ts). Each runs one task at a time; `run` queues a
 * task on the first free process. Processes are killed by `close` (by their own pid).
 */
export class TaskPool {
  private readonly procs: ChildProcess[] = [];
  private readonly free: ChildProcess[] = [];
  private readonly waiting: { task: Task; resolve: (r: TaskReply) => void }[] = [];
  private readonly pending = new Map<number, (r: TaskReply) => void>();
  private nextId = 0;

  constructor(size: number) {
    const entry = fileURLToPath(new URL('./task.ts', import.meta.url));
    for (let i = 0; i < size; i++) {
      const p = fork(entry, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      p.on('message', (m: TaskReply) => {
        const done = this.pending.get(m.id);
        this.pending.delete(m.id);
        this.release(p);
        done?.(m);
      });
      p.on('exit', (code, signal) => {
        for (const [id, done] of this.pending) {
          if ((p as unknown as { current?: number }).current === id) {
            this.pending.delete(id);
            done({ id, ok: false, error: `bench worker exited (${signal ?? code}) during the task`, ms: 0 });
          }
        }
      });
      this.procs.push(p);
      this.free.push(p);
    }
  }

  get size(): number {
    return this.procs.length;
  }

  private release(p: ChildProcess): void {
    const next = this.waiting.shift();
    if (next) this.dispatch(p, next.task, next.resolve);
    else this.free.push(p);
  }

  private dispatch(p: ChildProcess, task: Task, resolve: (r: TaskReply) => void): void {
    const id = this.nextId++;
    (p as unknown as { current?: number }).current = id;
    this.pending.set(id, resolve);
    p.send({ id, task } satisfies TaskMessage);
  }

  run(task: Task): Promise<TaskReply> {
    return new Promise((resolve) => {
      const p = this.free.shift();
      if (p) this.dispatch(p, task, resolve);
      else this.waiting.push({ task, resolve });
    });
  }

  close(): void {
    for (const p of this.procs) if (p.exitCode === null && p.pid !== undefined) p.kill('SIGTERM');
  }
}
