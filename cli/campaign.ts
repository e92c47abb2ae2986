import { Worker } from 'node:worker_threads';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { compileScenario } from '../sim/scenario/compile.ts';
import { emptyBatch, mergeBatches, runSeeds, type BatchResult } from '../sim/fuzz.ts';
import type { Finding } from '../sim/finding.ts';
import type { Chunk, FromWorker, ToWorker, WorkerInit } from './protocol.ts';

/**
 * Seeds per chunk. Fixed, never derived from the worker count: together with the merge in chunk
 * order and the canonical sort below, this makes a campaign's result the same for any --workers.
 */
export const CHUNK_SEEDS = 2000;

export interface LocalCampaign extends WorkerInit {
  readonly seedStart: number;
  readonly seeds: number;
  /** Worker threads; 1 runs every chunk in this thread. */
  readonly workers: number;
  readonly chunkSeeds?: number;
}

export interface CampaignProgress {
  /** Seeds run so far, over all chunks. */
  readonly done: number;
  /** Distinct signatures among the chunks that completed. */
  readonly findings: number;
}

export function splitChunks(seedStart: number, seeds: number, size: number = CHUNK_SEEDS): Chunk[] {
  const chunks: Chunk[] = [];
  for (let i = 0, off = 0; off < seeds; i++, off += size) {
    chunks.push({ index: i, seedStart: seedStart + off, count: Math.min(size, seeds - off) });
  }
  return chunks;
}

/**
 * The order of a campaign's findings: by seed, then by the step at which the oracle fired, then by
 * oracle and signature. mergeBatches already keeps the lowest seed per signature; this fixes the
 * order of findings that share a seed, whatever order the chunks were merged in.
 */
export function canonicalOrder(findings: Finding[]): Finding[] {
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return findings.sort((a, b) => a.seed - b.seed || a.step - b.step || cmp(a.oracle, b.oracle) || cmp(a.signature, b.signature));
}

/** Merges per-chunk batches in chunk order into one campaign result. */
export function mergeChunks(results: readonly BatchResult[]): BatchResult {
  const out = emptyBatch();
  for (const r of results) mergeBatches(out, r);
  canonicalOrder(out.findings);
  return out;
}

/**
 * Runs a local campaign (README.md, `fuzz`): the seed range split into chunks, run by a pool
 * of worker threads each calling sim's runSeeds, merged with mergeBatches. Deterministic: the
 * result depends on the scenario, variant, strategy and seed range only.
 */
export async function runLocalCampaign(c: LocalCampaign, onProgress?: (p: CampaignProgress) => void): Promise<BatchResult> {
  const chunks = splitChunks(c.seedStart, c.seeds, c.chunkSeeds ?? CHUNK_SEEDS);
  const threads = Math.min(c.workers, chunks.length);
  const results: BatchResult[] = new Array(chunks.length);
  const doneBy = new Array<number>(chunks.length).fill(0);
  const signatures = new Set<string>();
  let done = 0;
  const progress = (chunk: number, d: number): void => {
    done += d - doneBy[chunk];
    doneBy[chunk] = d;
    onProgress?.({ done, findings: signatures.size });
  };
  const complete = (chunk: number, b: BatchResult): void => {
    results[chunk] = b;
    for (const f of b.findings) signatures.add(f.signature);
    progress(chunk, chunks[chunk].count);
  };

  if (threads <= 1) {
    const sc = compileScenario(c.scenario);
    for (const ch of chunks) {
      complete(
        ch.index,
        runSeeds(sc, c.variant, c.strategy, ch.seedStart, ch.count, (d) => progress(ch.index, d), {
          coverage: c.coverage ?? false,
          oracles: c.oracles === undefined ? undefined : new Set(c.oracles),
        }),
      );
      await nextTurn(); // let signals and timers run between chunks
    }
  } else {
    await runPool(c, chunks, threads, progress, complete);
  }
  return mergeChunks(results);
}

/** Worker options: the thread registers tsx itself (fuzzWorker.mjs), so drop a parent's `--import tsx`. */
export function workerExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if ((a === '--import' || a === '--loader') && /(^|[/\\])tsx([/\\]|$)|^tsx$/.test(argv[i + 1] ?? '')) {
      i++;
      continue;
    }
    if (/^--(import|loader)=tsx$/.test(a)) continue;
    out.push(a);
  }
  return out;
}

function runPool(
  c: LocalCampaign,
  chunks: readonly Chunk[],
  threads: number,
  progress: (chunk: number, done: number) => void,
  complete: (chunk: number, b: BatchResult) => void,
): Promise<void> {
  const init: WorkerInit = { scenario: c.scenario, variant: c.variant, strategy: c.strategy, coverage: c.coverage ?? false, oracles: c.oracles };
  const entry = new URL('./fuzzWorker.mjs', import.meta.url);
  const execArgv = workerExecArgv();
  return new Promise<void>((resolve, reject) => {
    const workers: Worker[] = [];
    let next = 0;
    let remaining = chunks.length;
    let failed = false;
    const stopAll = (): Promise<unknown> => Promise.allSettled(workers.map((w) => w.terminate()));
    const fail = (e: unknown): void => {
      if (failed) return;
      failed = true;
      void stopAll().then(() => reject(e instanceof Error ? e : new Error(String(e))));
    };
    const feed = (w: Worker): void => {
      if (next >= chunks.length) return;
      const m: ToWorker = { type: 'run', chunk: chunks[next++] };
      w.postMessage(m);
    };
    for (let i = 0; i < threads; i++) {
      const w = new Worker(entry, { workerData: init, execArgv });
      workers.push(w);
      w.on('message', (m: FromWorker) => {
        if (failed) return;
        if (m.type === 'progress') progress(m.chunk, m.done);
        else {
          complete(m.chunk, m.batch);
          remaining--;
          if (remaining === 0) void stopAll().then(() => resolve());
          else feed(w);
        }
      });
      w.on('error', fail);
      w.on('exit', (code) => {
        if (remaining > 0) fail(new Error(`fuzz worker thread ${i} exited with code ${code} before the campaign finished`));
      });
      feed(w);
    }
  });
}
