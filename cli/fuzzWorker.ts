import { parentPort, workerData } from 'node:worker_threads';
import { compileScenario } from '../sim/scenario/compile.ts';
import { runSeeds } from '../sim/fuzz.ts';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.ts';

/**
 * A fuzz worker thread (compiled: dist/cli/fuzzWorker.js; from source: through fuzzWorker.mjs): compiles the campaign's scenario once, then runs
 * each seed range it is sent with sim's runSeeds and posts the batch back.
 */
const port = parentPort;
if (!port) throw new Error('fuzzWorker.ts must run in a worker thread');
const init = workerData as WorkerInit;
const sc = compileScenario(init.scenario);

const post = (m: FromWorker): void => port.postMessage(m);

port.on('message', (m: ToWorker) => {
  if (m.type !== 'run') return;
  const { chunk } = m;
  const batch = runSeeds(
    sc,
    init.variant,
    init.strategy,
    chunk.seedStart,
    chunk.count,
    (done) => post({ type: 'progress', chunk: chunk.index, done }),
    { coverage: init.coverage ?? false, oracles: init.oracles === undefined ? undefined : new Set(init.oracles) },
  );
  post({ type: 'result', chunk: chunk.index, batch });
});
