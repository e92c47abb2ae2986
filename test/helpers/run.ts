/** Child processes for tests (implementation in support/run.ts, shared with the benchmark). */
export { runProcess, type Ran } from '../../support/run.ts';
