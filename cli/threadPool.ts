import { Worker } from 'node:worker_threads';
import { compiledModule, threadExecArgv } from '../farm/compiled.ts';
import type { FromChunkWorker, ToChunkWorker } from './chunkProtocol.ts';

/**
 * The worker-thread pool that fuzz, explore and compare share: each thread gets one job at a time
 * (the next job is posted when the thread reports the previous one finished), a thread's error or
 * early exit rejects the whole run and stops every thread. Which job ends where does not matter to
 * the callers: they merge results by job index, so the outcome is the same for any thread count.
 */
export interface ThreadPoolRun<Job, Msg> {
  /** The worker's entry module and its options (threadEntry). */
  readonly entry: URL;
  readonly execArgv: string[];
  readonly workerData: unknown;
  readonly threads: number;
  readonly jobs: readonly Job[];
  /** The message that hands a job to a thread. */
  readonly post: (job: Job) => unknown;
  /** Handles a thread's message; true when it reports a job finished. */
  readonly onMessage: (m: Msg) => boolean;
  /** Names the run in the early-exit error: `${what} worker thread N exited … before ${unfinished}`. */
  readonly what: string;
  readonly unfinished: string;
}

export function runThreadPool<Job, Msg>(r: ThreadPoolRun<Job, Msg>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const workers: Worker[] = [];
    let next = 0;
    let remaining = r.jobs.length;
    let failed = false;
    const stopAll = (): Promise<unknown> => Promise.allSettled(workers.map((w) => w.terminate()));
    const fail = (e: unknown): void => {
      if (failed) return;
      failed = true;
      void stopAll().then(() => reject(e instanceof Error ? e : new Error(String(e))));
    };
    const feed = (w: Worker): void => {
      if (next >= r.jobs.length) return;
      w.postMessage(r.post(r.jobs[next++]));
    };
    for (let i = 0; i < r.threads; i++) {
      const w = new Worker(r.entry, { workerData: r.workerData, execArgv: r.execArgv });
      workers.push(w);
      w.on('message', (m: Msg) => {
        if (failed || !r.onMessage(m)) return;
        remaining--;
        if (remaining === 0) void stopAll().then(() => resolve());
        else feed(w);
      });
      w.on('error', fail);
      w.on('exit', (code) => {
        if (remaining > 0) fail(new Error(`${r.what} worker thread ${i} exited with code ${code} before ${r.unfinished}`));
      });
      feed(w);
    }
  });
}

/**
 * The entry of the worker thread `cli/<name>.ts`: its compiled JavaScript when dist/ is current
 * (farm/compiled.ts), else the tsx-registering `cli/<name>.mjs`; and the thread's execArgv.
 */
export function threadEntry(name: string): { entry: URL; compiled: boolean; execArgv: string[] } {
  const compiled = compiledModule(new URL(`./${name}.ts`, import.meta.url));
  return { entry: compiled ?? new URL(`./${name}.mjs`, import.meta.url), compiled: compiled !== undefined, execArgv: threadExecArgv() };
}

/** A chunked command's pool (fuzz, explore: cli/chunkProtocol.ts): each chunk goes out as `run`, reports progress, then its result. */
export interface ChunkPoolRun<C, B> {
  /** The worker thread, `cli/<worker>.ts`. */
  readonly worker: string;
  readonly workerData: unknown;
  readonly threads: number;
  readonly chunks: readonly C[];
  readonly progress: (chunk: number, done: number) => void;
  readonly complete: (chunk: number, batch: B) => void;
  readonly what: string;
  readonly unfinished: string;
}

export function runChunkPool<C, B>(r: ChunkPoolRun<C, B>): Promise<void> {
  const { entry, execArgv } = threadEntry(r.worker);
  return runThreadPool<C, FromChunkWorker<B>>({
    entry,
    execArgv,
    workerData: r.workerData,
    threads: r.threads,
    jobs: r.chunks,
    post: (chunk): ToChunkWorker<C> => ({ type: 'run', chunk }),
    onMessage: (m) => {
      if (m.type === 'progress') {
        r.progress(m.chunk, m.done);
        return false;
      }
      r.complete(m.chunk, m.batch);
      return true;
    },
    what: r.what,
    unfinished: r.unfinished,
  });
}
