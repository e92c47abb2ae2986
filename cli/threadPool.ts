import { Worker } from 'node:worker_threads';

/**
 * The worker-thread pool that fuzz, explore and compare share: each thread gets one job at a time
 * (the next job is posted when the thread reports the previous one finished), a thread's error or
 * early exit rejects the whole run and stops every thread. Which job ends where does not matter to
 * the callers: they merge results by job index, so the outcome is the same for any thread count.
 */
export interface ThreadPoolRun<Job, Msg> {
  /** The worker's entry module and its options (cli/campaign.ts fuzzWorkerEntry, farm/compiled.ts). */
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
