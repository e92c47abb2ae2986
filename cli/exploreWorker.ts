import { parentPort, workerData } from 'node:worker_threads';
import { explorePrograms } from '../sim/generate/explore.ts';
import { exploreOptionsOf } from './explorePool.ts';
import type { ExploreInit, FromExploreWorker, ToExploreWorker } from './exploreProtocol.ts';

/** An explore worker thread (loaded by exploreWorker.mjs): runs each program chunk it is sent. */
const port = parentPort;
if (!port) throw new Error('exploreWorker.ts must run in a worker thread');
const opts = exploreOptionsOf(workerData as ExploreInit);
const post = (m: FromExploreWorker): void => port.postMessage(m);

port.on('message', (m: ToExploreWorker) => {
  if (m.type !== 'run') return;
  const { chunk } = m;
  const batch = explorePrograms(chunk.programStart, chunk.count, opts, (done) => post({ type: 'progress', chunk: chunk.index, done }));
  post({ type: 'result', chunk: chunk.index, batch });
});
