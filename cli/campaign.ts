import { runChunkPool, threadEntry } from './threadPool.ts';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { compileScenario } from '../sim/scenario/compile.ts';
import { emptyBatch, mergeBatches, runSeeds, type BatchResult } from '../sim/fuzz.ts';
import type { Finding } from '../sim/finding.ts';
import type { Chunk, WorkerInit } from './protocol.ts';

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

/**
 * The fuzz worker thread's entry and options (cli/threadPool.ts threadEntry): compiled JavaScript
 * when it can (the installed command, or a checkout whose dist/ is current) — a thread then starts
 * in tens of milliseconds — else fuzzWorker.mjs, which registers tsx in the thread.
 */
export function fuzzWorkerEntry(): { entry: URL; compiled: boolean; execArgv: string[] } {
  return threadEntry('fuzzWorker');
}

function runPool(
  c: LocalCampaign,
  chunks: readonly Chunk[],
  threads: number,
  progress: (chunk: number, done: number) => void,
  complete: (chunk: number, b: BatchResult) => void,
): Promise<void> {
  // Compiled here once, so that no thread loads the scenario compiler (cli/protocol.ts WorkerInit.compiled).
  const init: WorkerInit = {
    scenario: c.scenario,
    compiled: compileScenario(c.scenario),
    variant: c.variant,
    strategy: c.strategy,
    coverage: c.coverage ?? false,
    oracles: c.oracles,
  };
  return runChunkPool<Chunk, BatchResult>({ worker: 'fuzzWorker', workerData: init, threads, chunks, progress, complete, what: 'fuzz', unfinished: 'the campaign finished' });
}
