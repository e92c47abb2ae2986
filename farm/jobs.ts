import type { ScenarioJson } from '../sim/scenario/compiled.ts';
import type { Sites } from '../sim/variants/sites.ts';
import type { StrategySpec } from '../sim/schedule/strategy.ts';
import type { Finding } from '../sim/finding.ts';
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
  readonly strategy: StrategySpec;
  readonly seedStart: number;
  readonly seedCount: number;
  readonly maxSteps: number;
  /** Collect coverage features. */
  readonly coverage: boolean;
}

export interface MinimizeJobData {
  readonly signature: string;
  readonly finding: Finding;
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
}

export interface MinimizedResult {
  readonly kind: 'minimized';
  readonly signature: string;
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
export const minimizeJobId = (sig: string) => `m_${sig}`;
export const minimizedResultJobId = (sig: string) => `mr_${sig}`;

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
