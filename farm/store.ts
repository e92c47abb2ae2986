import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Finding } from '../sim/finding.ts';
import { PREFIX } from './config.ts';
import { createOnce, readRequest } from './createOnce.ts';
import { keys } from './keys.ts';
import type { CampaignSpec } from './campaign.ts';
import type { FailedRange, FuzzResult, MinimizedResult } from './jobs.ts';
import type { PrefixOutcome } from './exhaustiveSpec.ts';
import { certificateOf, type Certificate } from './certificate.ts';

/**
 * pending → running → done | incomplete (some seed ranges failed every attempt; `retry` runs them
 * again: → running) ; pending | running → cancelled. done, incomplete and cancelled are terminal.
 */
export type CampaignState = 'pending' | 'running' | 'done' | 'incomplete' | 'cancelled';

export const TERMINAL_STATES: ReadonlySet<string> = new Set(['done', 'incomplete', 'cancelled']);

/** Failed ranges listed in a campaign view (the count is always exact). */
export const MAX_LISTED_FAILED = 100;

export interface CampaignView {
  id: string;
  name: string;
  state: CampaignState;
  scenario: string;
  variant: string;
  strategy: string;
  depth: number;
  seedStart: number;
  seedCount: number;
  batchSize: number;
  jobsTotal: number;
  jobsDone: number;
  schedules: number;
  steps: number;
  byOracle: Record<string, number>;
  uniqueSignatures: number;
  minimizePending: number;
  createdAtMs: number;
  finishedAtMs: number;
  coverage: boolean;
  coverageFeatures: number;
  /** Worker time spent running the recorded ranges (ms). */
  computeMs: number;
  /** Seed ranges whose job failed for good: the first MAX_LISTED_FAILED by seed, and how many. */
  failedRanges: FailedRange[];
  failedRangeCount: number;
  /** An exhaustive campaign's certificate (farm/certificate.ts); null for random and pct. */
  certificate: (Certificate & { maxSchedules: number }) | null;
}

export type FindingStatus = 'new' | 'queued' | 'minimized' | 'failed';

export interface FindingSummary {
  signature: string;
  oracle: string;
  scenario: string;
  variant: string;
  seed: number;
  status: FindingStatus;
  message: string;
  campaign: string;
}

export interface FindingRecord {
  summary: FindingSummary;
  /** Generation of `raw` (MinimizeJobData.gen): one more each time a lower seed replaced it. */
  gen: number;
  raw: Finding;
  minimized: Finding | null;
  trace: string;
  reason: string;
}

/**
 * Lua: decides whether a campaign has ended. Every range recorded or failed for good, and no
 * signature waiting for its minimize job: `done` without failed ranges, else `incomplete`.
 * Called after each change that can end a campaign; an incomplete campaign whose last failed range
 * got recorded after all (a late result) becomes done.
 */
const FINISH_LUA = `
local function finish(camp, now)
  local state = redis.call('HGET', camp, 'state')
  if (not state) or state == 'cancelled' or state == 'done' then return end
  local nfailed = redis.call('HLEN', camp .. ':failed')
  if tonumber(redis.call('HGET', camp, 'jobsDone') or '0') + nfailed >= tonumber(redis.call('HGET', camp, 'jobsTotal')) then
    redis.call('HSET', camp, 'fuzzDone', '1')
    if redis.call('SCARD', camp .. ':minpending') == 0 then
      local final = 'done'
      if nfailed > 0 then final = 'incomplete' end
      if state ~= final then redis.call('HSET', camp, 'state', final, 'finishedAt', now) end
    end
  end
end
`;

/**
 * Records one fuzz batch. The SADD of the range's seedStart is the guard that makes totals exact:
 * a batch whose job ran twice (a stalled job re-run, a retried results job) adds nothing the second
 * time. Findings are merged either way (idempotent: lowest seed per signature, per campaign and
 * farm-wide), and the signatures whose minimize job is not queued yet and whose stored finding is
 * this batch's are returned, with their generation, so the caller can (re-)enqueue them.
 *
 * KEYS: campaign, ranges, oracles, sigs, found, minpending, findings, then per finding its hash and
 * its campaigns set. ARGV: seedStart, schedules, steps, nOracles, (oracle, runs)…, nFindings,
 * (sig, seed, oracle, json)…, now, campaignId, computeMs.
 */
const RECORD_FUZZ = FINISH_LUA + `
local camp = KEYS[1]
if redis.call('EXISTS', camp) == 0 then return {-1, 0} end
local added = redis.call('SADD', KEYS[2], ARGV[1])
local i = 4
local nOr = tonumber(ARGV[i]); i = i + 1
local orStart = i
i = i + 2 * nOr
local nF = tonumber(ARGV[i]); i = i + 1
local fStart = i
local now = ARGV[fStart + 4 * nF]
local cid = ARGV[fStart + 4 * nF + 1]
if added == 1 then
  redis.call('HINCRBY', camp, 'schedules', ARGV[2])
  redis.call('HINCRBY', camp, 'steps', ARGV[3])
  redis.call('HINCRBY', camp, 'computeMs', ARGV[fStart + 4 * nF + 2])
  for k = 0, nOr - 1 do
    redis.call('HINCRBY', KEYS[3], ARGV[orStart + 2 * k], ARGV[orStart + 2 * k + 1])
  end
  redis.call('HDEL', camp .. ':failed', ARGV[1])
  redis.call('HSET', camp, 'jobsDone', redis.call('SCARD', KEYS[2]), 'updatedAt', now)
  if redis.call('HGET', camp, 'state') == 'pending' then redis.call('HSET', camp, 'state', 'running') end
end
local out = {added, redis.call('SCARD', KEYS[2])}
for k = 0, nF - 1 do
  local sig = ARGV[fStart + 4 * k]
  local seed = ARGV[fStart + 4 * k + 1]
  local oracle = ARGV[fStart + 4 * k + 2]
  local json = ARGV[fStart + 4 * k + 3]
  local fkey = KEYS[8 + 2 * k]
  local cur = redis.call('HGET', KEYS[4], sig)
  if (not cur) or tonumber(seed) < tonumber(cur) then
    redis.call('HSET', KEYS[4], sig, seed)
    redis.call('HSET', KEYS[5], sig, json)
  end
  redis.call('SADD', KEYS[9 + 2 * k], cid)
  if redis.call('EXISTS', fkey) == 0 then
    redis.call('HSET', fkey, 'signature', sig, 'oracle', oracle, 'status', 'new', 'raw', json,
      'campaign', cid, 'seed', seed, 'createdAt', now, 'gen', 1)
    redis.call('ZADD', KEYS[7], now, sig)
  else
    -- The farm keeps per signature the finding with the lowest seed (equal seeds, from two
    -- campaigns: the smaller JSON text), whatever order the ranges arrive in. A lower seed replaces
    -- the stored finding and drops its shrink: the next generation is minimized again.
    local gseed = tonumber(redis.call('HGET', fkey, 'seed'))
    if tonumber(seed) < gseed or (tonumber(seed) == gseed and json < redis.call('HGET', fkey, 'raw')) then
      redis.call('HSET', fkey, 'raw', json, 'seed', seed, 'status', 'new')
      redis.call('HINCRBY', fkey, 'gen', 1)
      redis.call('HDEL', fkey, 'minimized', 'trace', 'reason', 'minimizedAt')
    end
  end
  local st = redis.call('HGET', fkey, 'status')
  if st == 'new' or st == 'queued' then redis.call('SADD', KEYS[6], sig) end
  -- Only the batch that holds the stored finding queues its minimize job (with the job data it has).
  if st == 'new' and redis.call('HGET', fkey, 'raw') == json then
    table.insert(out, sig)
    table.insert(out, tonumber(redis.call('HGET', fkey, 'gen') or '1'))
  end
end
finish(camp, now)
return out
`;

/**
 * Records a minimize result once, then releases the signature in every campaign that waits on it
 * and completes those whose ranges are all recorded. A result of an older generation (a lower seed
 * replaced the finding meanwhile) is ignored: the campaigns wait for the current one's.
 * KEYS: finding, finding campaigns. ARGV: status, minimized json, trace, reason, now, key prefix,
 * signature, generation.
 */
const RECORD_MINIMIZED = FINISH_LUA + `
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return 0 end
if tonumber(redis.call('HGET', KEYS[1], 'gen') or '1') ~= tonumber(ARGV[8]) then return 0 end
if st ~= 'minimized' and st ~= 'failed' then
  redis.call('HSET', KEYS[1], 'status', ARGV[1], 'minimized', ARGV[2], 'trace', ARGV[3], 'reason', ARGV[4], 'minimizedAt', ARGV[5])
end
for _, cid in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local camp = ARGV[6] .. ':campaign:' .. cid
  redis.call('SREM', camp .. ':minpending', ARGV[7])
  finish(camp, ARGV[5])
end
return 1
`;

/**
 * A seed range whose fuzz job failed every attempt. Ignored when the range is recorded (its
 * result got through after all) or the campaign is cancelled or gone. KEYS: campaign, ranges,
 * failed. ARGV: seedStart, {seedCount, error} JSON, now.
 */
const RECORD_FAILED = FINISH_LUA + `
local st = redis.call('HGET', KEYS[1], 'state')
if (not st) or st == 'cancelled' then return 0 end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return 0 end
local added = redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
finish(KEYS[1], ARGV[3])
return added
`;

/**
 * Takes a campaign's failed ranges for a retry, atomically (two concurrent retries: the second
 * finds none and changes nothing): the failed set is emptied and the campaign is running again,
 * not yet enqueued (a coordinator that dies now re-enqueues on restart). KEYS: campaign, failed.
 * Returns {state, seedStart…}.
 */
const TAKE_FAILED = `
local st = redis.call('HGET', KEYS[1], 'state')
if not st then return false end
local out = {st}
if st == 'cancelled' then return out end
local f = redis.call('HKEYS', KEYS[2])
if #f == 0 then return out end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'state', 'running', 'fuzzDone', '0', 'finishedAt', '0', 'enqueued', '0')
out[1] = 'running'
for _, s in ipairs(f) do table.insert(out, s) end
return out
`;

/**
 * new → queued for the current generation. Returns 1 the first time a signature is queued (a new
 * signature to the farm), 2 for a later generation, 0 when nothing changed. KEYS: finding. ARGV: gen.
 */
const MARK_QUEUED = `
if redis.call('HGET', KEYS[1], 'status') == 'new' and tonumber(redis.call('HGET', KEYS[1], 'gen') or '1') == tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'status', 'queued')
  if redis.call('HSETNX', KEYS[1], 'counted', '1') == 1 then return 1 end
  return 2
end
return 0
`;

const MARK_ENQUEUED = `
redis.call('HSET', KEYS[1], 'enqueued', '1')
if redis.call('HGET', KEYS[1], 'state') == 'pending' then redis.call('HSET', KEYS[1], 'state', 'running') end
return 1
`;

const CANCEL = `
local st = redis.call('HGET', KEYS[1], 'state')
if not st then return false end
if st == 'pending' or st == 'running' then
  redis.call('HSET', KEYS[1], 'state', 'cancelled', 'finishedAt', ARGV[1])
  return 'cancelled'
end
return st
`;

export function newCampaignId(): string {
  return `c${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
}

const num = (s: string | undefined) => (s === undefined || s === '' ? 0 : Number(s));

export class FarmStore {
  constructor(readonly redis: Redis) {}

  /**
   * Creates the campaign; with a request id, returns instead the campaign an earlier call with that
   * id created (`existing`), and that call's request digest.
   */
  async createCampaign(spec: CampaignSpec, request?: { id: string; digest: string }): Promise<{ id: string; existing: boolean; digest: string }> {
    const id = newCampaignId();
    const now = Date.now();
    const fields: Record<string, string | number> = {
      id,
      name: spec.name,
      state: 'pending',
      spec: JSON.stringify(spec),
      scenario: spec.scenario.name,
      variant: spec.variant.name,
      strategy: spec.strategy.name,
      depth: spec.strategy.depth,
      seedStart: spec.seedStart,
      seedCount: spec.seedCount,
      batchSize: spec.batchSize,
      jobsTotal: spec.jobsTotal,
      coverage: spec.coverage ? 1 : 0,
      ...(spec.exhaustive ? { preemptions: spec.exhaustive.bound, maxSchedules: spec.exhaustive.maxSchedules } : {}),
      jobsDone: 0,
      schedules: 0,
      steps: 0,
      enqueued: 0,
      createdAt: now,
      updatedAt: now,
      ...(request ? { requestId: request.id } : {}),
    };
    return createOnce({
      redis: this.redis,
      request: request && { key: keys.request(request.id), digest: request.digest },
      recordKey: keys.campaign(id),
      indexKey: keys.campaigns,
      id,
      createdAt: now,
      fields,
    });
  }

  /** The campaign a request id created, and that request's digest. */
  async requestCampaign(rid: string): Promise<{ id: string; digest: string } | null> {
    return readRequest(this.redis, keys.request(rid));
  }

  /** Every fuzz job is on the queue: a pending campaign becomes running. */
  async markEnqueued(id: string): Promise<void> {
    await this.redis.eval(MARK_ENQUEUED, 1, keys.campaign(id));
  }

  async campaignSpec(id: string): Promise<CampaignSpec | null> {
    const s = await this.redis.hget(keys.campaign(id), 'spec');
    return s ? (JSON.parse(s) as CampaignSpec) : null;
  }

  async campaignField(id: string, field: string): Promise<string | null> {
    return this.redis.hget(keys.campaign(id), field);
  }

  async getCampaign(id: string): Promise<CampaignView | null> {
    const [[, h], [, oracles], [, nsigs], [, pending], [, nfeatures], [, nfailed]] = (await this.redis
      .multi()
      .hgetall(keys.campaign(id))
      .hgetall(keys.oracles(id))
      .hlen(keys.sigs(id))
      .scard(keys.minpending(id))
      .scard(keys.coverage(id))
      .hlen(keys.failed(id))
      .exec()) as [unknown, unknown][] as [[null, Record<string, string>], [null, Record<string, string>], [null, number], [null, number], [null, number], [null, number]];
    if (!h || !h.id) return null;
    const failedRanges = nfailed > 0 ? await this.failedRanges(id, nfailed) : [];
    const certificate = h.strategy === 'exhaustive' ? await this.certificate(id, h) : null;
    return {
      id: h.id,
      name: h.name ?? '',
      state: h.state as CampaignState,
      scenario: h.scenario,
      variant: h.variant,
      strategy: h.strategy,
      depth: num(h.depth),
      seedStart: num(h.seedStart),
      seedCount: num(h.seedCount),
      batchSize: num(h.batchSize),
      jobsTotal: num(h.jobsTotal),
      jobsDone: num(h.jobsDone),
      schedules: num(h.schedules),
      steps: num(h.steps),
      byOracle: Object.fromEntries(Object.entries(oracles).map(([k, v]) => [k, Number(v)])),
      uniqueSignatures: nsigs,
      minimizePending: pending,
      createdAtMs: num(h.createdAt),
      finishedAtMs: num(h.finishedAt),
      coverage: h.coverage === '1',
      coverageFeatures: nfeatures,
      computeMs: num(h.computeMs),
      failedRanges,
      failedRangeCount: nfailed,
      certificate,
    };
  }

  /** Reads an exhaustive campaign's prefix outcomes and failed prefixes into its certificate. */
  private async certificate(id: string, h: Record<string, string>): Promise<Certificate & { maxSchedules: number }> {
    const [raw, failed] = await Promise.all([this.redis.hgetall(keys.prefixes(id)), this.redis.hkeys(keys.failed(id))]);
    const outcomes = new Map<number, PrefixOutcome>(Object.entries(raw).map(([k, v]) => [Number(k), JSON.parse(v) as PrefixOutcome]));
    const x = { bound: num(h.preemptions), maxSchedules: num(h.maxSchedules) };
    return { ...certificateOf(x, num(h.jobsTotal), outcomes, new Set(failed.map(Number))), maxSchedules: x.maxSchedules };
  }

  /** Up to MAX_LISTED_FAILED failed ranges, by seed (the lowest when there are at most 1000). */
  private async failedRanges(id: string, n: number): Promise<FailedRange[]> {
    let entries: [string, string][];
    if (n <= 1000) entries = Object.entries(await this.redis.hgetall(keys.failed(id)));
    else {
      const [, flat] = await this.redis.hscan(keys.failed(id), '0', 'COUNT', 1000);
      entries = [];
      for (let i = 0; i + 1 < flat.length; i += 2) entries.push([flat[i], flat[i + 1]]);
    }
    return entries
      .map(([start, json]) => {
        const v = JSON.parse(json) as { seedCount: number; error: string };
        return { seedStart: Number(start), seedCount: v.seedCount, error: v.error };
      })
      .sort((a, b) => a.seedStart - b.seedStart)
      .slice(0, MAX_LISTED_FAILED);
  }

  /** Records a range whose fuzz job failed for good; true when it was not listed yet. */
  async recordFailedRange(id: string, r: FailedRange): Promise<boolean> {
    const json = JSON.stringify({ seedCount: r.seedCount, error: r.error });
    return (await this.redis.eval(RECORD_FAILED, 3, keys.campaign(id), keys.ranges(id), keys.failed(id), String(r.seedStart), json, String(Date.now()))) === 1;
  }

  /**
   * Takes the failed ranges for a retry: the campaign's state after the call and the seedStart of
   * every range taken (none when there was nothing to retry), or null when there is no campaign.
   */
  async takeFailedRanges(id: string): Promise<{ state: CampaignState; starts: number[] } | null> {
    const out = (await this.redis.eval(TAKE_FAILED, 2, keys.campaign(id), keys.failed(id))) as string[] | null;
    if (!out) return null;
    return { state: out[0] as CampaignState, starts: out.slice(1).map(Number) };
  }

  async listCampaigns(limit: number): Promise<CampaignView[]> {
    const ids = await this.redis.zrevrange(keys.campaigns, 0, Math.max(0, limit - 1));
    const out: CampaignView[] = [];
    for (const id of ids) {
      const c = await this.getCampaign(id);
      if (c) out.push(c);
    }
    return out;
  }

  /** The waiting jobs of a cancelled campaign are all removed. */
  async markPurged(id: string): Promise<void> {
    await this.redis.hset(keys.campaign(id), 'purged', '1');
  }

  /** Cancelled campaigns whose waiting jobs may not all be removed yet (the newest 1000). */
  async unpurgedCancelled(): Promise<string[]> {
    const ids = await this.redis.zrevrange(keys.campaigns, 0, 999);
    const out: string[] = [];
    for (const id of ids) {
      const [st, purged] = await this.redis.hmget(keys.campaign(id), 'state', 'purged');
      if (st === 'cancelled' && purged !== '1') out.push(id);
    }
    return out;
  }

  /** Campaigns not yet finished (pending or running). */
  async activeCampaigns(): Promise<string[]> {
    const ids = await this.redis.zrange(keys.campaigns, '0', '-1');
    const out: string[] = [];
    for (const id of ids) {
      const st = await this.redis.hget(keys.campaign(id), 'state');
      if (st === 'pending' || st === 'running') out.push(id);
    }
    return out;
  }

  /** seedStart of every range already recorded. */
  async recordedRanges(id: string): Promise<Set<number>> {
    return new Set((await this.redis.smembers(keys.ranges(id))).map(Number));
  }

  /**
   * Records a fuzz batch; `newSignatures` are the signatures (with their generation) whose minimize
   * job is not queued yet: new to the farm, or whose stored finding this batch's lower seed replaced.
   */
  async recordFuzz(r: FuzzResult): Promise<{ recorded: boolean; jobsDone: number; newSignatures: { signature: string; gen: number }[]; missing: boolean }> {
    const id = r.campaign;
    // A set union is idempotent, so coverage needs no guard (and goes first: a retry redoes it).
    for (let i = 0; i < r.coverage.length; i += 1000) await this.redis.sadd(keys.coverage(id), ...r.coverage.slice(i, i + 1000));
    // A prefix job's outcome is a pure function of its prefix: writing it again writes the same
    // value. It goes before the guarded counters, so a campaign counted done has every outcome.
    if (r.exhaustive) await this.redis.hset(keys.prefixes(id), String(r.seedStart), JSON.stringify(r.exhaustive));
    const ks = [keys.campaign(id), keys.ranges(id), keys.oracles(id), keys.sigs(id), keys.found(id), keys.minpending(id), keys.findings];
    const args: (string | number)[] = [r.seedStart, r.schedules, r.steps];
    const ors = Object.entries(r.byOracle);
    args.push(ors.length);
    for (const [o, n] of ors) args.push(o, n ?? 0);
    args.push(r.findings.length);
    for (const f of r.findings) {
      ks.push(keys.finding(f.signature), keys.findingCampaigns(f.signature));
      args.push(f.signature, f.seed, f.oracle, JSON.stringify(f));
    }
    args.push(Date.now(), id, Math.round(r.elapsedMs));
    const out = (await this.redis.eval(RECORD_FUZZ, ks.length, ...ks, ...args.map(String))) as (number | string)[];
    if (out[0] === -1) return { recorded: false, jobsDone: 0, newSignatures: [], missing: true };
    const newSignatures: { signature: string; gen: number }[] = [];
    for (let i = 2; i + 1 < out.length; i += 2) newSignatures.push({ signature: String(out[i]), gen: Number(out[i + 1]) });
    return { recorded: out[0] === 1, jobsDone: Number(out[1]), newSignatures, missing: false };
  }

  /**
   * new → queued for generation `gen`; true when this call queued the signature for the first time
   * (once per signature, whatever the later generations).
   */
  async markQueued(sig: string, gen: number): Promise<boolean> {
    return (await this.redis.eval(MARK_QUEUED, 1, keys.finding(sig), String(gen))) === 1;
  }

  async recordMinimized(r: MinimizedResult): Promise<void> {
    await this.redis.eval(
      RECORD_MINIMIZED,
      2,
      keys.finding(r.signature),
      keys.findingCampaigns(r.signature),
      r.ok ? 'minimized' : 'failed',
      r.finding ? JSON.stringify(r.finding) : '',
      r.trace,
      r.reason,
      String(Date.now()),
      PREFIX,
      r.signature,
      String(r.gen),
    );
  }

  /** Returns the state after the call, or null when there is no such campaign. */
  async cancel(id: string): Promise<CampaignState | null> {
    return (await this.redis.eval(CANCEL, 1, keys.campaign(id), String(Date.now()))) as CampaignState | null;
  }

  /** Signatures whose minimize job may not be queued yet (status new). */
  async unqueuedFindings(): Promise<string[]> {
    const sigs = await this.redis.zrange(keys.findings, '0', '-1');
    const out: string[] = [];
    for (const s of sigs) if ((await this.redis.hget(keys.finding(s), 'status')) === 'new') out.push(s);
    return out;
  }

  async getFinding(sig: string): Promise<FindingRecord | null> {
    const h = await this.redis.hgetall(keys.finding(sig));
    if (!h || !h.raw) return null;
    const raw = JSON.parse(h.raw) as Finding;
    const minimized = h.minimized ? (JSON.parse(h.minimized) as Finding) : null;
    return {
      summary: summaryOf(raw, h.status as FindingStatus, h.campaign, raw.seed),
      gen: num(h.gen) || 1,
      raw,
      minimized,
      trace: h.trace ?? '',
      reason: h.reason ?? '',
    };
  }

  /** Every finding, or one campaign's (with that campaign's lowest seed), oldest first. */
  async listFindings(campaign?: string): Promise<FindingSummary[]> {
    const out: FindingSummary[] = [];
    if (campaign) {
      const found = await this.redis.hgetall(keys.found(campaign));
      for (const json of Object.values(found)) {
        const f = JSON.parse(json) as Finding;
        const [status, first] = await this.redis.hmget(keys.finding(f.signature), 'status', 'campaign');
        out.push(summaryOf(f, (status ?? 'new') as FindingStatus, first ?? campaign, f.seed));
      }
      return out.sort((a, b) => a.seed - b.seed || a.signature.localeCompare(b.signature));
    }
    for (const sig of await this.redis.zrange(keys.findings, '0', '-1')) {
      const r = await this.getFinding(sig);
      if (r) out.push(r.summary);
    }
    return out;
  }

  /**
   * A campaign's finding of a signature: the farm's record when its stored finding is the
   * campaign's (lowest seed), else the campaign's as found (another campaign holds a lower seed:
   * the farm shrinks only that one), with the reason. Null when the campaign has no such finding.
   */
  async campaignFindingRecord(campaign: string, sig: string): Promise<FindingRecord | null> {
    const [own, raw] = await Promise.all([this.redis.hget(keys.found(campaign), sig), this.redis.hget(keys.finding(sig), 'raw')]);
    if (!own) return null;
    const rec = await this.getFinding(sig);
    if (rec && raw === own) return rec;
    const f = JSON.parse(own) as Finding;
    const reason = rec
      ? `not minimized: the farm shrinks a signature's lowest seed over all campaigns, seed ${rec.raw.seed} of ${rec.raw.scenario.name} (\`campaign findings\` without a campaign); this is campaign ${campaign}'s finding as found`
      : '';
    return { summary: summaryOf(f, rec?.summary.status ?? 'new', rec?.summary.campaign ?? campaign, f.seed), gen: rec?.gen ?? 1, raw: f, minimized: null, trace: '', reason };
  }

  /** The finding a campaign found for a signature, at its lowest seed. */
  async campaignFinding(campaign: string, sig: string): Promise<Finding | null> {
    const j = await this.redis.hget(keys.found(campaign), sig);
    return j ? (JSON.parse(j) as Finding) : null;
  }
}

function summaryOf(f: Finding, status: FindingStatus, campaign: string, seed: number): FindingSummary {
  return {
    signature: f.signature,
    oracle: f.oracle,
    scenario: f.scenario.name,
    variant: f.variant.name,
    seed,
    status,
    message: f.message,
    campaign,
  };
}
