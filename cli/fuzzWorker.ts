import { parentPort, workerData } from 'node:worker_threads';
import { runSeeds } from '../sim/fuzz.ts';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.ts';

/**
 * A fuzz worker thread (compiled: dist/cli/fuzzWorker.js; from source: through fuzzWorker.mjs): takes the campaign's compiled scenario (or compiles it once), then runs
 * each seed range it is sent with sim's runSeeds and posts the batch back.
 */
const port = parentPort;
if (!port) throw new Error('fuzzWorker.ts must run in a worker thread');
const init = workerData as WorkerInit;
// The parent's compiled scenario when it sent one (cli/protocol.ts WorkerInit.compiled): loading the
// compiler and zod only for a bare ScenarioJson keeps them out of the thread's start-up.
const sc = init.compiled ?? (await import('../sim/scenario/compile.ts')).compileScenario(init.scenario);

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
