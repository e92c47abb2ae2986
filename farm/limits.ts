/**
 * What one client may ask of the farm (docs/farm.md, "Limits"). Each queued fuzz job holds the
 * campaign's scenario in Redis (~2.3 KB), so the number of jobs, not of seeds, is what costs
 * memory; seeds cost worker time. A request over a limit is refused with RESOURCE_EXHAUSTED and
 * nothing is enqueued.
 */
export interface FarmLimits {
  /** seed_count of one campaign (RACEFARM_MAX_SEEDS). */
  readonly maxSeedsPerCampaign: number;
  /** Fuzz jobs of one campaign: seed_count ÷ batch_size (RACEFARM_MAX_CAMPAIGN_JOBS). */
  readonly maxJobsPerCampaign: number;
  /** Campaigns pending or running at once, farm-wide (RACEFARM_MAX_CAMPAIGNS). */
  readonly maxActiveCampaigns: number;
  /** Fuzz jobs waiting in the queue, farm-wide, counting the new campaign's (RACEFARM_MAX_QUEUED_JOBS). */
  readonly maxQueuedJobs: number;
}

export const DEFAULT_LIMITS: FarmLimits = {
  maxSeedsPerCampaign: 10_000_000_000,
  maxJobsPerCampaign: 100_000,
  maxActiveCampaigns: 32,
  maxQueuedJobs: 200_000,
};

const ENV: Record<keyof FarmLimits, string> = {
  maxSeedsPerCampaign: 'RACEFARM_MAX_SEEDS',
  maxJobsPerCampaign: 'RACEFARM_MAX_CAMPAIGN_JOBS',
  maxActiveCampaigns: 'RACEFARM_MAX_CAMPAIGNS',
  maxQueuedJobs: 'RACEFARM_MAX_QUEUED_JOBS',
};

export function limitsFromEnv(env: NodeJS.ProcessEnv = process.env): FarmLimits {
  const out: Record<string, number> = { ...DEFAULT_LIMITS };
  for (const [k, name] of Object.entries(ENV)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name}: ${JSON.stringify(v)} is not a positive integer`);
    out[k] = n;
  }
  return out as unknown as FarmLimits;
}

/** A request over one of the farm's limits: RESOURCE_EXHAUSTED, the details name field and limit. */
export class LimitExceeded extends Error {}

export function limitEnvName(k: keyof FarmLimits): string {
  return ENV[k];
}
