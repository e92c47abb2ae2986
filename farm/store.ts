import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Finding } from '../sim/finding.ts';
import { PREFIX } from './config.ts';
import { keys } from './keys.ts';
import type { CampaignSpec } from './campaign.ts';
import type { FailedRange, FuzzResult, MinimizedResult } from './jobs.ts';

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
 * time. Findings are merged either way (idempotent: lowest seed per signature), and the signatures
 * whose minimize job is not queued yet are returned so the caller can (re-)enqueue them.
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
      'campaign', cid, 'seed', seed, 'createdAt', now)
    redis.call('ZADD', KEYS[7], now, sig)
  end
  local st = redis.call('HGET', fkey, 'status')
  if st == 'new' or st == 'queued' then redis.call('SADD', KEYS[6], sig) end
  if st == 'new' then table.insert(out, sig) end
end
finish(camp, now)
return out
`;

/**
 * Records a minimize result once, then releases the signature in every campaign that waits on it
 * and completes those whose ranges are all recorded. KEYS: finding, finding campaigns.
 * ARGV: status, minimized json, trace, reason, now, key prefix, signature.
 */
const RECORD_MINIMIZED = FINISH_LUA + `
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return 0 end
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

const MARK_QUEUED = `
if redis.call('HGET', KEYS[1], 'status') == 'new' then redis.call('HSET', KEYS[1], 'status', 'queued') return 1 end
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

/**
 * Creates a campaign, or finds the one an earlier call with the same request id created: one
 * script, so a request id never points at a campaign that does not exist. KEYS: request key (or
 * ''), campaign, campaigns. ARGV: id, digest, ttl s, created, then field/value pairs.
 * Returns {existing id, its digest} or {}.
 */
const CREATE_CAMPAIGN = `
if KEYS[1] ~= '' then
  local cur = redis.call('GET', KEYS[1])
  if cur then
    local bar = string.find(cur, '|', 1, true)
    return {string.sub(cur, 1, bar - 1), string.sub(cur, bar + 1)}
  end
  redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[2], 'EX', ARGV[3])
end
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
return {}
`;

export const REQUEST_TTL_S = 7 * 24 * 3600;

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
      jobsDone: 0,
      schedules: 0,
      steps: 0,
      enqueued: 0,
      createdAt: now,
      updatedAt: now,
      ...(request ? { requestId: request.id } : {}),
    };
    const args = [id, request?.digest ?? '', String(REQUEST_TTL_S), String(now), ...Object.entries(fields).flatMap(([k, v]) => [k, String(v)])];
    const out = (await this.redis.eval(CREATE_CAMPAIGN, 3, request ? keys.request(request.id) : '', keys.campaign(id), keys.campaigns, ...args)) as string[];
    if (out.length === 2) return { id: out[0], existing: true, digest: out[1] };
    return { id, existing: false, digest: request?.digest ?? '' };
  }

  /** The campaign a request id created, and that request's digest. */
  async requestCampaign(rid: string): Promise<{ id: string; digest: string } | null> {
    const v = await this.redis.get(keys.request(rid));
    if (!v) return null;
    const bar = v.indexOf('|');
    return { id: v.slice(0, bar), digest: v.slice(bar + 1) };
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
    };
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

  async recordFuzz(r: FuzzResult): Promise<{ recorded: boolean; jobsDone: number; newSignatures: string[]; missing: boolean }> {
    const id = r.campaign;
    // A set union is idempotent, so coverage needs no guard (and goes first: a retry redoes it).
    for (let i = 0; i < r.coverage.length; i += 1000) await this.redis.sadd(keys.coverage(id), ...r.coverage.slice(i, i + 1000));
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
    return { recorded: out[0] === 1, jobsDone: Number(out[1]), newSignatures: out.slice(2).map(String), missing: false };
  }

  /** new → queued; true when this call made the change (once per signature). */
  async markQueued(sig: string): Promise<boolean> {
    return (await this.redis.eval(MARK_QUEUED, 1, keys.finding(sig))) === 1;
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
