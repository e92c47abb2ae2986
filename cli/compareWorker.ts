import { parentPort, workerData } from 'node:worker_threads';
import { compileScenario } from '../sim/scenario/compile.ts';
import { runCell } from '../sim/compare/cell.ts';
import type { CompareFromWorker, CompareToWorker, CompareWorkerInit } from './compareProtocol.ts';

/**
 * A compare worker thread (loaded by compareWorker.mjs): runs each cell it is sent with sim's
 * runCell and posts the result back. Cells are pure, so which worker runs which cell changes nothing.
 */
const port = parentPort;
if (!port) throw new Error('compareWorker.ts must run in a worker thread');
const init = workerData as CompareWorkerInit;
const oracles = new Set(init.oracles);

port.on('message', (m: CompareToWorker) => {
  if (m.type !== 'cell') return;
  const result = runCell(compileScenario(m.spec.scenario), m.spec.variant, init.budget, oracles);
  const out: CompareFromWorker = { type: 'result', index: m.spec.index, result };
  port.postMessage(out);
});
