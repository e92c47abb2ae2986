import { parentPort, workerData } from 'node:worker_threads';
import { startWorker, type WorkerQueue } from './main.ts';
import type { LockTiming } from '../farm/config.ts';

/** One worker thread of `worker --concurrency N`: a one-job farm worker. */
const data = workerData as { redisUrl: string; timing: LockTiming; queues?: WorkerQueue[] };
const port = parentPort!;
const handle = await startWorker({
  redisUrl: data.redisUrl,
  concurrency: 1,
  timing: data.timing,
  queues: data.queues,
  log: (msg) => port.postMessage({ type: 'log', msg }),
  // The parent thread's registry counts this thread's work (it serves /metrics).
  sink: { record: (ev) => port.postMessage({ type: 'metric', ev }) },
});
port.on('message', (m: { type: string }) => {
  if (m.type === 'close') void handle.close().then(() => process.exit(0));
});
port.postMessage({ type: 'ready' });
