import type { Redis } from 'ioredis';
import { keys } from '../farm/keys.ts';

/**
 * How many signatures each campaign found first: the `campaign` field of a finding record is the
 * campaign whose result created it (RECORD_FUZZ in farm/store.ts). Every race has exactly one first
 * campaign, so these counts add up over any set of campaigns without counting a race twice — the
 * dashboard's "races" stat sums them (racefarm_campaign_first_signatures).
 */
export async function firstFoundCounts(redis: Redis): Promise<Map<string, number>> {
  const sigs = await redis.zrange(keys.findings, '0', '-1');
  const out = new Map<string, number>();
  if (sigs.length === 0) return out;
  const p = redis.pipeline();
  for (const s of sigs) p.hget(keys.finding(s), 'campaign');
  for (const [, campaign] of (await p.exec()) ?? []) {
    if (typeof campaign === 'string' && campaign !== '') out.set(campaign, (out.get(campaign) ?? 0) + 1);
  }
  return out;
}
