/** Farm processes for tests (implementation in support/procs.ts, shared with the benchmark). */
export { FAST_LOCKS, FarmProc, ROOT, farmProcess, runFarmCli, startCoordinatorProc, startWorkerProc, until } from '../../support/procs.ts';
