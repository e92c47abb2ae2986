import type { ScenarioJson } from '../sim/scenario/compiled.ts';
import type { Sites } from '../sim/variants/sites.ts';
import type { Finding, FindingStrategy } from '../sim/finding.ts';
import type { PrefixOutcome } from './exhaustiveSpec.ts';
import type { ExploreCampaign } from './exploreCampaign.ts';
import type { OracleName } from '../sim/oracles/violation.ts';
import type { DefaultJobOptions } from 'bullmq';

/**
 * Queues (BullMQ, prefix `racefarm`):
 *   fuzz      coordinator → workers: run seeds [seedStart, seedStart + seedCount)
 *   minimize  coordinator → workers: shrink one new signature, then replay it for its trace
 *   results   workers → coordinator: a fuzz batch's counts and findings, or a minimized finding
 */
export const QUEUES = { fuzz: 'fuzz', minimize: 'minimize', results: 'results' } as const;

export interface FuzzJobData {
  readonly campaign: string;
  readonly scenario: ScenarioJson;
  readonly variant: { readonly name: string; readonly sites: Sites };
  /** random or pct; exhaustive for a prefix job (then `exhaustive` is set). */
  readonly strategy: FindingStrategy;
  readonly seedStart: number;
  readonly seedCount: number;
  readonly maxSteps: number;
  /** Collect coverage features. */
  readonly coverage: boolean;
  /** A prefix job of an exhaustive campaign: seedStart is the prefix's index, seedCount 1. */
  readonly exhaustive?: PrefixJob;
  /** An explore campaign's job: the seeds are program seeds (farm/exploreCampaign.ts). */
  readonly explore?: ExploreCampaign;
}

/** The search a prefix job runs: the subtree under `prefix`, up to `bound` preemptions. */
export interface PrefixJob {
  readonly bound: number;
  readonly reduction: boolean;
  readonly maxSchedules: number;
  readonly target: readonly OracleName[] | null;
  readonly prefix: readonly number[];
}

export interface MinimizeJobData {
  readonly signature: string;
  readonly finding: Finding;
  /**
   * The finding record's generation: 1 when the signature is first recorded, one more each time a
   * lower seed replaces the stored finding (farm/store.ts RECORD_FUZZ). A result of an older
   * generation is ignored, so what is kept is always the shrink of the lowest seed.
   */
  readonly gen: number;
}

export interface FuzzResult {
  readonly kind: 'fuzz';
  readonly campaign: string;
  readonly seedStart: number;
  readonly seedCount: number;
  readonly schedules: number;
  readonly steps: number;
  readonly byOracle: Partial<Record<OracleName, number>>;
  readonly findings: Finding[];
  /** Coverage feature ids reached in this range (when the campaign collects coverage). */
  readonly coverage: string[];
  readonly worker: string;
  readonly elapsedMs: number;
  /** A prefix job's outcome (exhaustive campaigns). */
  readonly exhaustive?: PrefixOutcome;
  /** Programs run (explore campaigns: seedCount, reported by the worker). */
  readonly programs?: number;
}

export interface MinimizedResult {
  readonly kind: 'minimized';
  readonly signature: string;
  /** The generation of the finding that was minimized (MinimizeJobData.gen). */
  readonly gen: number;
  readonly ok: boolean;
  /** The minimized finding (when ok). */
  readonly finding: Finding | null;
  readonly trace: string;
  readonly reason: string;
  readonly elapsedMs: number;
}

export type ResultJobData = FuzzResult | MinimizedResult;

/** BullMQ custom ids may not contain ':' nor be integers. */
export const fuzzJobId = (campaign: string, seedStart: number) => `${campaign}_${seedStart}`;
export const fuzzResultJobId = (campaign: string, seedStart: number) => `f_${campaign}_${seedStart}`;
export const minimizeJobId = (sig: string, gen: number) => `m_${sig}_${gen}`;
export const minimizedResultJobId = (sig: string, gen: number) => `mr_${sig}_${gen}`;
/** The signature and generation of a minimize job id (`m_<sig>_<gen>`), or null. */
export function parseMinimizeJobId(id: string): { signature: string; gen: number } | null {
  const m = /^m_([0-9a-f]{1,64})_(\d{1,15})$/.exec(id);
  return m ? { signature: m[1], gen: Number(m[2]) } : null;
}

/**
 * Retried jobs are safe: a fuzz range is recorded once (guarded by its seedStart), a minimized
 * finding once. Finished jobs are kept a while so that re-adding one (same id) is a no-op.
 */
export const JOB_OPTIONS: DefaultJobOptions = {
  attempts: 10,
  backoff: { type: 'fixed', delay: 1000 },
  removeOnComplete: { age: 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/** A whole-number setting from the environment; a bad value names the variable. */
export function envCount(name: string, dflt: number, min: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name}: ${JSON.stringify(v)} is not an integer ≥ ${min}`);
  return n;
}

/**
 * JOB_OPTIONS with the attempts and the delay between them from the environment
 * (RACEFARM_JOB_ATTEMPTS, default 10; RACEFARM_JOB_BACKOFF_MS, default 1000). A job that fails
 * every attempt has failed for good: the coordinator records its range (or its finding) as failed.
 */
export function jobOptions(): DefaultJobOptions {
  return {
    ...JOB_OPTIONS,
    attempts: envCount('RACEFARM_JOB_ATTEMPTS', 10, 1),
    backoff: { type: 'fixed', delay: envCount('RACEFARM_JOB_BACKOFF_MS', 1000, 0) },
  };
}

/** A seed range whose fuzz job failed every attempt (the error is the job's last failure, capped). */
export interface FailedRange {
  readonly seedStart: number;
  readonly seedCount: number;
  readonly error: string;
}
