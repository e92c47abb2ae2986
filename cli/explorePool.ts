import { runChunkPool } from './threadPool.ts';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { emptyExplore, explorePrograms, mergeExplore, type ExploreBatch, type ExploreOptions } from '../sim/generate/explore.ts';
import type { ExploreInit, ProgramChunk } from './exploreProtocol.ts';

/**
 * Programs per chunk. Fixed, never derived from --workers: chunks are merged in chunk (= program)
 * order, so `explore` gives the same result for any worker count.
 */
export const CHUNK_PROGRAMS = 10;

export function exploreOptionsOf(init: ExploreInit): ExploreOptions {
  return {
    variant: init.variant,
    against: init.against,
    schedules: init.schedules,
    strategy: init.strategy,
    depth: init.depth,
    oracles: new Set(init.oracles),
    coverage: init.coverage,
  };
}

export function splitPrograms(programStart: number, programs: number, size: number = CHUNK_PROGRAMS): ProgramChunk[] {
  const out: ProgramChunk[] = [];
  for (let i = 0, off = 0; off < programs; i++, off += size) out.push({ index: i, programStart: programStart + off, count: Math.min(size, programs - off) });
  return out;
}

/** Runs programs [start, start + count) on `workers` threads (1: in this thread) and merges them in program order. */
export async function runExplore(
  init: ExploreInit,
  programStart: number,
  programs: number,
  workers: number,
  onProgress?: (done: number, findings: number) => void,
): Promise<ExploreBatch> {
  const chunks = splitPrograms(programStart, programs);
  const results: ExploreBatch[] = new Array(chunks.length);
  const doneBy = new Array<number>(chunks.length).fill(0);
  const signatures = new Set<string>();
  let done = 0;
  const progress = (chunk: number, d: number): void => {
    done += d - doneBy[chunk];
    doneBy[chunk] = d;
    onProgress?.(done, signatures.size);
  };
  const complete = (chunk: number, b: ExploreBatch): void => {
    results[chunk] = b;
    for (const f of b.findings) signatures.add(f.finding.signature);
    progress(chunk, chunks[chunk].count);
  };
  const threads = Math.min(workers, chunks.length);
  if (threads <= 1) {
    const opts = exploreOptionsOf(init);
    for (const ch of chunks) {
      complete(ch.index, explorePrograms(ch.programStart, ch.count, opts, (d) => progress(ch.index, d)));
      await nextTurn();
    }
  } else {
    await pool(init, chunks, threads, progress, complete);
  }
  const out = emptyExplore(init.coverage);
  for (const r of results) mergeExplore(out, r);
  return out;
}

function pool(
  init: ExploreInit,
  chunks: readonly ProgramChunk[],
  threads: number,
  progress: (chunk: number, done: number) => void,
  complete: (chunk: number, b: ExploreBatch) => void,
): Promise<void> {
  return runChunkPool<ProgramChunk, ExploreBatch>({ worker: 'exploreWorker', workerData: init, threads, chunks, progress, complete, what: 'explore', unfinished: 'the run finished' });
}
