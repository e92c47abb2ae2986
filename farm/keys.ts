import { PREFIX } from './config.ts';

/**
 * The farm's own Redis keys (BullMQ's live under `racefarm:<queue>:…`; no queue is named
 * `campaign`, `campaigns`, `finding` or `findings`).
 *
 *   racefarm:campaigns                      ZSET  campaign id → created (ms)
 *   racefarm:campaign:<id>                  HASH  spec, state, counters (schedules, steps, jobsDone…)
 *   racefarm:campaign:<id>:ranges           SET   seedStart of every recorded seed range (the exactness guard)
 *   racefarm:campaign:<id>:oracles          HASH  oracle → runs in which it fired
 *   racefarm:campaign:<id>:sigs             HASH  signature → lowest seed in this campaign
 *   racefarm:campaign:<id>:found            HASH  signature → finding JSON at that seed
 *   racefarm:campaign:<id>:minpending       SET   signatures waiting for their minimize job
 *   racefarm:campaign:<id>:coverage         SET   coverage feature ids reached (when collected)
 *   racefarm:campaign:<id>:failed           HASH  seedStart → {seedCount, error} of ranges whose job failed for good
 *   racefarm:request:<request id>           STRING campaign id + request digest (StartCampaign idempotency, 7 days)
 *   racefarm:findings                       ZSET  signature → first seen (ms)
 *   racefarm:finding:<sig>                  HASH  raw, minimized, trace, status, oracle, campaign, seed…
 *   racefarm:finding:<sig>:campaigns        SET   campaigns that found it
 */
export const keys = {
  campaigns: `${PREFIX}:campaigns`,
  campaign: (id: string) => `${PREFIX}:campaign:${id}`,
  ranges: (id: string) => `${PREFIX}:campaign:${id}:ranges`,
  oracles: (id: string) => `${PREFIX}:campaign:${id}:oracles`,
  sigs: (id: string) => `${PREFIX}:campaign:${id}:sigs`,
  found: (id: string) => `${PREFIX}:campaign:${id}:found`,
  minpending: (id: string) => `${PREFIX}:campaign:${id}:minpending`,
  coverage: (id: string) => `${PREFIX}:campaign:${id}:coverage`,
  failed: (id: string) => `${PREFIX}:campaign:${id}:failed`,
  request: (rid: string) => `${PREFIX}:request:${rid}`,
  findings: `${PREFIX}:findings`,
  finding: (sig: string) => `${PREFIX}:finding:${sig}`,
  findingCampaigns: (sig: string) => `${PREFIX}:finding:${sig}:campaigns`,
};
