import { ORACLE_CLASSES } from '../../sim/oracles/classes.ts';
import type { FindingRow } from './data.ts';

const STATUSES = ['new', 'queued', 'minimized', 'failed'] as const;
const CLASSES = [...ORACLE_CLASSES, 'unknown'] as const;

/**
 * The filter of `/findings`, from its query string: each field keeps the findings whose column equals
 * the value (`?oracle=stale-read&campaign=c…`), `q` keeps those whose signature, scenario, variant or
 * message contains the text (case-insensitive). Empty fields do not filter.
 */
export interface FindingFilter {
  readonly oracle?: string;
  readonly class?: string;
  readonly scenario?: string;
  readonly variant?: string;
  readonly status?: string;
  readonly campaign?: string;
  readonly q?: string;
}

export const FILTER_FIELDS = ['oracle', 'class', 'scenario', 'variant', 'status', 'campaign', 'q'] as const;

/** A filter value the view refuses (HTTP 400 naming the field). */
export class FilterError extends Error {}

export function parseFilter(params: URLSearchParams): FindingFilter {
  const f: Record<string, string> = {};
  for (const k of FILTER_FIELDS) {
    const v = params.get(k);
    if (v !== null && v !== '') {
      if (v.length > 200) throw new FilterError(`${k}: longer than 200 characters`);
      f[k] = v;
    }
  }
  if (f.class !== undefined && !(CLASSES as readonly string[]).includes(f.class)) {
    throw new FilterError(`class: ${JSON.stringify(f.class)} is not one of ${CLASSES.join(', ')}`);
  }
  if (f.status !== undefined && !(STATUSES as readonly string[]).includes(f.status)) {
    throw new FilterError(`status: ${JSON.stringify(f.status)} is not one of ${STATUSES.join(', ')}`);
  }
  return f;
}

export function matches(row: FindingRow, f: FindingFilter): boolean {
  if (f.oracle !== undefined && row.oracle !== f.oracle) return false;
  if (f.class !== undefined && row.class !== f.class) return false;
  if (f.scenario !== undefined && row.scenario !== f.scenario) return false;
  if (f.variant !== undefined && row.variant !== f.variant) return false;
  if (f.status !== undefined && row.status !== f.status) return false;
  if (f.campaign !== undefined && !row.campaigns.includes(f.campaign)) return false;
  if (f.q !== undefined) {
    const q = f.q.toLowerCase();
    if (![row.signature, row.scenario, row.variant, row.message].some((s) => s.toLowerCase().includes(q))) return false;
  }
  return true;
}

export { CLASSES as FILTER_CLASSES, STATUSES as FILTER_STATUSES };
