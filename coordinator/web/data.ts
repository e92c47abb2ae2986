import { classOfName, ORACLE_CLASSES, type OracleClass } from '../../sim/oracles/classes.ts';
import type { Finding } from '../../sim/finding.ts';
import { keys } from '../../farm/keys.ts';
import type { CampaignView, FarmStore, FindingStatus } from '../../farm/store.ts';

/** An oracle's class for display: `unknown` for an oracle name of another simulator version. */
export type ClassLabel = OracleClass | 'unknown';

export function classLabel(oracle: string): ClassLabel {
  return classOfName(oracle) ?? 'unknown';
}

/** One unique finding of the farm (one signature), as the web view lists it. */
export interface FindingRow {
  readonly signature: string;
  readonly oracle: string;
  readonly class: ClassLabel;
  readonly scenario: string;
  readonly variant: string;
  readonly seed: number;
  readonly status: FindingStatus;
  readonly message: string;
  /** When the farm first recorded it (ms since the epoch). */
  readonly firstSeenMs: number;
  /** The campaign that found it first. */
  readonly firstCampaign: string;
  /** Every campaign that found it, sorted. */
  readonly campaigns: readonly string[];
}

/** One campaign, with its unique findings counted by oracle class. */
export interface CampaignRow {
  readonly view: CampaignView;
  readonly byClass: Readonly<Record<ClassLabel, number>>;
}

function emptyByClass(): Record<ClassLabel, number> {
  return Object.fromEntries([...ORACLE_CLASSES, 'unknown'].map((c) => [c, 0])) as Record<ClassLabel, number>;
}

/**
 * The web view's reads, through the farm's store (farm/store.ts) and keys (farm/keys.ts): the same
 * records `campaign list` and `campaign findings` show, never a copy of them.
 */
export class WebData {
  constructor(private readonly store: FarmStore) {}

  /** The most recent campaigns, newest first. */
  async campaigns(limit = 100): Promise<CampaignRow[]> {
    const views = await this.store.listCampaigns(limit);
    const out: CampaignRow[] = [];
    for (const view of views) {
      const sigs = await this.store.redis.hkeys(keys.sigs(view.id));
      const byClass = emptyByClass();
      if (sigs.length > 0) {
        const p = this.store.redis.pipeline();
        for (const s of sigs) p.hget(keys.finding(s), 'oracle');
        for (const [, oracle] of (await p.exec()) ?? []) byClass[classLabel(String(oracle ?? ''))]++;
      }
      out.push({ view, byClass });
    }
    return out;
  }

  /** Every unique finding, oldest first. */
  async findings(): Promise<FindingRow[]> {
    const scored = await this.store.redis.zrange(keys.findings, '0', '-1', 'WITHSCORES');
    const out: FindingRow[] = [];
    for (let i = 0; i < scored.length; i += 2) {
      const row = await this.finding(scored[i], Number(scored[i + 1]));
      if (row) out.push(row);
    }
    return out;
  }

  /** One finding's row, or null when the farm has no finding with that signature. */
  async finding(signature: string, firstSeenMs?: number): Promise<FindingRow | null> {
    const rec = await this.store.getFinding(signature);
    if (!rec) return null;
    const [campaigns, score] = await Promise.all([
      this.store.redis.smembers(keys.findingCampaigns(signature)),
      firstSeenMs === undefined ? this.store.redis.zscore(keys.findings, signature) : Promise.resolve(String(firstSeenMs)),
    ]);
    const s = rec.summary;
    return {
      signature: s.signature,
      oracle: s.oracle,
      class: classLabel(s.oracle),
      scenario: s.scenario,
      variant: s.variant,
      seed: s.seed,
      status: s.status,
      message: s.message,
      firstSeenMs: Number(score ?? 0),
      firstCampaign: s.campaign,
      campaigns: campaigns.sort(),
    };
  }

  /** The finding files of a signature: as found (lowest seed) and, once minimized, shrunk (with its bounded text trace). */
  async findingFiles(signature: string): Promise<{ raw: Finding; minimized: Finding | null; reason: string; trace: string } | null> {
    const rec = await this.store.getFinding(signature);
    return rec ? { raw: rec.raw, minimized: rec.minimized, reason: rec.reason, trace: rec.trace } : null;
  }
}
