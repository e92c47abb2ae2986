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
 *   racefarm:campaign:<id>:prefixes         HASH  prefix index → its job's outcome (exhaustive campaigns)
 *   racefarm:request:<request id>           STRING campaign id + request digest (StartCampaign idempotency, 7 days)
 *   racefarm:request:cmp:<request id>       STRING comparison id + request digest (StartComparison idempotency, 7 days)
 *   racefarm:comparisons                    ZSET  comparison id → created (ms)
 *   racefarm:comparison:<id>                HASH  spec, state, created, finished
 *   racefarm:comparison:<id>:cells          HASH  cell index → {state, campaigns, result, error}
 *   racefarm:findings                       ZSET  signature → first seen (ms)
 *   racefarm:finding:<sig>                  HASH  raw (lowest seed over all campaigns), seed, gen, minimized, trace, status, oracle, campaign (first)…
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
  prefixes: (id: string) => `${PREFIX}:campaign:${id}:prefixes`,
  request: (rid: string) => `${PREFIX}:request:${rid}`,
  comparisonRequest: (rid: string) => `${PREFIX}:request:cmp:${rid}`,
  comparisons: `${PREFIX}:comparisons`,
  comparison: (id: string) => `${PREFIX}:comparison:${id}`,
  comparisonCells: (id: string) => `${PREFIX}:comparison:${id}:cells`,
  findings: `${PREFIX}:findings`,
  finding: (sig: string) => `${PREFIX}:finding:${sig}`,
  findingCampaigns: (sig: string) => `${PREFIX}:finding:${sig}:campaigns`,
};
