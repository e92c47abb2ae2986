import type { Redis } from 'ioredis';

/**
 * Creates a record (a campaign, a comparison) at most once per client request id: the request key
 * names the record an earlier call with the same id created, so a client that retries after losing
 * the answer gets that record back instead of a duplicate. One script, so a request key never
 * points at a record that does not exist. KEYS: request key (or ''), record hash, index zset.
 * ARGV: id, digest, ttl s, created, then the record's field/value pairs.
 * Returns {existing id, its digest} or {}.
 */
const CREATE_ONCE = `
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

/** How long a request id keeps naming what it created. */
export const REQUEST_TTL_S = 7 * 24 * 3600;

export interface CreateOnce {
  readonly redis: Redis;
  /** The request id's key and the request's digest (to tell a retry from a different request), or none. */
  readonly request?: { readonly key: string; readonly digest: string };
  readonly recordKey: string;
  readonly indexKey: string;
  readonly id: string;
  readonly createdAt: number;
  readonly fields: Readonly<Record<string, string | number>>;
}

export async function createOnce(c: CreateOnce): Promise<{ id: string; existing: boolean; digest: string }> {
  const digest = c.request?.digest ?? '';
  const args = [c.id, digest, String(REQUEST_TTL_S), String(c.createdAt), ...Object.entries(c.fields).flatMap(([k, v]) => [k, String(v)])];
  const out = (await c.redis.eval(CREATE_ONCE, 3, c.request?.key ?? '', c.recordKey, c.indexKey, ...args)) as string[];
  if (out.length === 2) return { id: out[0], existing: true, digest: out[1] };
  return { id: c.id, existing: false, digest };
}

/** The record a request id created, and that request's digest; null when the id is unknown or expired. */
export async function readRequest(redis: Redis, key: string): Promise<{ id: string; digest: string } | null> {
  const v = await redis.get(key);
  if (!v) return null;
  const bar = v.indexOf('|');
  return { id: v.slice(0, bar), digest: v.slice(bar + 1) };
}
