import { Worker } from 'node:worker_threads';
import { InputError } from '../sim/scenario/errors.ts';
import type { Finding } from '../sim/finding.ts';
import type { ScenarioJson } from '../sim/scenario/compiled.ts';
import type { Sites } from '../sim/variants/sites.ts';
import type { HtmlOutcome, SimTask, SimTaskResult, TraceOutcome } from './simTasks.ts';
import type { FuzzJobData } from '../farm/jobs.ts';
import type { runPrefixJob } from '../worker/exhaustive.ts';

/** Raised when the simulation thread is saturated or a task overran its time: RESOURCE_EXHAUSTED. */
export class SimBusy extends Error {}

interface Pending {
  readonly task: SimTask;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
}

/**
 * Simulation work an RPC or a web page needs (replaying a finding for its trace or its HTML page,
 * estimating a scenario's steps for PCT) runs here, in one worker thread, never on the
 * coordinator's event loop: a 1e6-step replay takes seconds, during which gRPC, health checks and
 * result recording must go on. Tasks run one at a time; at most `maxQueued` wait (more: SimBusy),
 * and one that runs longer than `timeoutMs` is stopped with its thread (SimBusy), which is started
 * again for the next task.
 */
export class SimThread {
  private worker: Worker | null = null;
  private readonly queue: Pending[] = [];
  private running: Pending | null = null;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly opts: { readonly maxQueued?: number; readonly timeoutMs?: number; readonly maxMemoryMb?: number } = {},
  ) {}

  trace(finding: Finding): Promise<TraceOutcome> {
    return this.submit({ kind: 'trace', finding }) as Promise<TraceOutcome>;
  }

  /** The web view's HTML trace of a finding (at most `maxChars` characters). */
  html(finding: Finding, banner: string, maxChars: number): Promise<HtmlOutcome> {
    return this.submit({ kind: 'html', finding, banner, maxChars }) as Promise<HtmlOutcome>;
  }

  estimateSteps(scenario: ScenarioJson, sites: Sites): Promise<number> {
    return this.submit({ kind: 'estimate', scenario, sites }) as Promise<number>;
  }

  /** An exhaustive campaign's decision prefixes (farm/split.ts). */
  splitSearch(scenario: ScenarioJson, sites: Sites, bound: number, split: number, max: number): Promise<number[][]> {
    return this.submit({ kind: 'split', scenario, sites, bound, split, max }) as Promise<number[][]>;
  }

  /**
   * A farm worker's prefix job of an exhaustive campaign (worker/exhaustive.ts): one uninterrupted
   * search, run here so that the worker's event loop keeps renewing the job's lock meanwhile.
   */
  prefixJob(job: FuzzJobData): Promise<ReturnType<typeof runPrefixJob>> {
    return this.submit({ kind: 'prefix', job }) as Promise<ReturnType<typeof runPrefixJob>>;
  }

  private submit(task: SimTask): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('the coordinator is shutting down'));
    const max = this.opts.maxQueued ?? 16;
    if (this.queue.length >= max) return Promise.reject(new SimBusy(`${this.queue.length} simulations are already waiting; try again later`));
    return new Promise((resolve, reject) => {
      this.queue.push({ task, resolve, reject });
      this.next();
    });
  }

  private spawn(): Worker {
    const ts = import.meta.url.endsWith('.ts');
    const entry = new URL(`./simTasks.${ts ? 'ts' : 'js'}`, import.meta.url).href;
    // A worker thread does not inherit the parent's `--import tsx` hooks: register them first.
    // A heap limit of its own: a replay that outgrows it (a finding file whose run is far longer than
    // it says) ends this thread with ERR_WORKER_OUT_OF_MEMORY, not the coordinator with a fatal OOM.
    const resourceLimits = { maxOldGenerationSizeMb: this.opts.maxMemoryMb ?? 2048 };
    const w = ts
      ? new Worker(`import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`, { eval: true, resourceLimits })
      : new Worker(new URL(entry), { resourceLimits });
    w.on('message', (m: SimTaskResult) => this.settle(m));
    // Only the thread that runs the current task may fail it: a thread stopped by the time limit
    // (already replaced, `this.worker !== w`) exits later, while the next task runs on its successor.
    w.on('error', (e) => {
      // The thread is gone (out of memory, or a crash): the next task starts a new one.
      if (this.worker !== w) return;
      this.worker = null;
      const oom = (e as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY';
      this.fail(oom ? new SimBusy(`the simulation ran out of memory (limit ${resourceLimits.maxOldGenerationSizeMb} MB) and was stopped`) : e);
    });
    w.on('exit', () => {
      if (this.worker !== w) return;
      this.worker = null;
      this.fail(new Error('the simulation thread exited'));
    });
    w.unref();
    return w;
  }

  private next(): void {
    if (this.running || this.queue.length === 0 || this.closed) return;
    this.running = this.queue.shift()!;
    this.worker ??= this.spawn();
    const ms = this.opts.timeoutMs ?? 60_000;
    this.timer = setTimeout(() => {
      const w = this.worker;
      this.worker = null;
      this.fail(new SimBusy(`the simulation took longer than ${ms} ms and was stopped`));
      void w?.terminate();
    }, ms);
    this.worker.postMessage(this.running.task);
  }

  private settle(m: SimTaskResult): void {
    const p = this.running;
    if (!p) return;
    clearTimeout(this.timer);
    this.running = null;
    if (m.ok) p.resolve(m.value);
    else p.reject(m.problems ? new InputError(m.error, m.problems) : new Error(m.error));
    this.next();
  }

  private fail(e: unknown): void {
    const p = this.running;
    if (!p) return;
    clearTimeout(this.timer);
    this.running = null;
    p.reject(e);
    this.next();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(new Error('the coordinator is shutting down'));
    this.fail(new Error('the coordinator is shutting down'));
    const w = this.worker;
    this.worker = null;
    await w?.terminate();
  }
}
