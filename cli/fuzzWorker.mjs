// Entry of a fuzz worker thread in a checkout whose dist/ is not current (cli/campaign.ts
// fuzzWorkerEntry; otherwise the thread starts dist/cli/fuzzWorker.js directly). Node 20 does not
// apply the parent's `--import tsx` loader hooks to a worker's own entry module, so this plain-JS
// file registers tsx in the worker thread first and then loads the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./fuzzWorker.ts');
