// Entry of an explore worker thread: registers tsx in the thread (Node 20 does not pass the parent's
// `--import tsx` hooks to a worker's entry module), then loads the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./exploreWorker.ts');
