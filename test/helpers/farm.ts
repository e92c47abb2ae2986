/** Farm processes for tests (implementation in farm/procs.ts, shared with the benchmark). */
export { FAST_LOCKS, FarmProc, ROOT, farmProcess, runFarmCli, startCoordinatorProc, startWorkerProc, until } from '../../farm/procs.ts';
