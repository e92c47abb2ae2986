// Entry of a compare worker thread: registers tsx in the worker (Node 20 does not pass the parent's
// `--import tsx` hooks to a worker's entry module), then loads the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./compareWorker.ts');
