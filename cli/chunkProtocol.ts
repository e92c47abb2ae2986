/**
 * The messages between a command and the worker threads that run its chunks (cli/threadPool.ts):
 * `fuzz` sends seed ranges (cli/protocol.ts), `explore` program ranges (cli/exploreProtocol.ts). A
 * chunk goes out as `run`; the worker reports how far it got (`progress`) and then its `result`.
 */
export type ToChunkWorker<C> = { readonly type: 'run'; readonly chunk: C };

export type FromChunkWorker<B> =
  | { readonly type: 'progress'; readonly chunk: number; readonly done: number }
  | { readonly type: 'result'; readonly chunk: number; readonly batch: B };
