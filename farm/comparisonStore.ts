import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ScenarioJson } from '../sim/scenario/compiled.ts';
import type { Sites } from '../sim/variants/sites.ts';
import type { CellBudget, CellResult } from '../sim/compare/cell.ts';
import { keys } from './keys.ts';
import { createOnce, readRequest } from './createOnce.ts';

/**
 * A farm comparison (`campaign compare`, StartComparison): the variants × scenarios matrix of the
 * local `racefarm compare`, each cell driven by coordinator/comparison.ts through campaigns.
 * running → done | incomplete (a cell whose campaign ended incomplete or cancelled failed).
 */
export type ComparisonState = 'running' | 'done' | 'incomplete' | 'cancelled';

export interface ComparisonSpec {
  readonly name: string;
  readonly scenarios: readonly ScenarioJson[];
  readonly variants: readonly { readonly name: string; readonly sites: Sites; readonly json: string; readonly preset: string }[];
  readonly budget: CellBudget;
  /** Prefix jobs per exhaustive search. */
  readonly split: number;
}

export type CellState = 'pending' | 'running' | 'done' | 'failed';

export interface ComparisonCellView {
  readonly index: number;
  readonly scenario: string;
  readonly variant: string;
  readonly state: CellState;
  readonly result: CellResult | null;
  readonly campaigns: readonly string[];
  readonly error: string;
}

export interface ComparisonView {
  readonly id: string;
  readonly name: string;
  readonly state: ComparisonState;
  readonly scenarios: readonly string[];
  readonly variants: readonly string[];
  readonly budget: CellBudget;
  readonly split: number;
  readonly cells: readonly ComparisonCellView[];
  readonly createdAtMs: number;
  readonly finishedAtMs: number;
}

interface CellRecord {
  state: CellState;
  campaigns: string[];
  result: CellResult | null;
  error: string;
}

/** Ends a comparison once every cell is done or failed (idempotent). KEYS: comparison, cells. ARGV: cells total, now. */
const FINISH = `
local st = redis.call('HGET', KEYS[1], 'state')
if st ~= 'running' then return st end
local vals = redis.call('HVALS', KEYS[2])
if #vals < tonumber(ARGV[1]) then return st end
local final = 'done'
for _, v in ipairs(vals) do
  local c = cjson.decode(v)
  if c.state == 'failed' then final = 'incomplete' elseif c.state ~= 'done' then return st end
end
redis.call('HSET', KEYS[1], 'state', final, 'finishedAt', ARGV[2])
return final
`;

/** running → cancelled; another state is returned as it is, false for no such comparison. KEYS: comparison. ARGV: now. */
const CANCEL = `
local st = redis.call('HGET', KEYS[1], 'state')
if not st then return false end
if st == 'running' then
  redis.call('HSET', KEYS[1], 'state', 'cancelled', 'finishedAt', ARGV[1])
  return 'cancelled'
end
return st
`;

export function newComparisonId(): string {
  return `x${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
}

export class ComparisonStore {
  constructor(readonly redis: Redis) {}

  async create(spec: ComparisonSpec, request?: { id: string; digest: string }): Promise<{ id: string; existing: boolean; digest: string }> {
    const id = newComparisonId();
    const now = Date.now();
    return createOnce({
      redis: this.redis,
      request: request && { key: keys.comparisonRequest(request.id), digest: request.digest },
      recordKey: keys.comparison(id),
      indexKey: keys.comparisons,
      id,
      createdAt: now,
      fields: { id, name: spec.name, state: 'running', spec: JSON.stringify(spec), createdAt: now, finishedAt: 0 },
    });
  }

  async requestComparison(rid: string): Promise<{ id: string; digest: string } | null> {
    return readRequest(this.redis, keys.comparisonRequest(rid));
  }

  async spec(id: string): Promise<ComparisonSpec | null> {
    const s = await this.redis.hget(keys.comparison(id), 'spec');
    return s ? (JSON.parse(s) as ComparisonSpec) : null;
  }

  async state(id: string): Promise<ComparisonState | null> {
    return (await this.redis.hget(keys.comparison(id), 'state')) as ComparisonState | null;
  }

  /** Comparisons still running (the newest 1000), for a restarted coordinator to drive on. */
  async running(): Promise<string[]> {
    const ids = await this.redis.zrevrange(keys.comparisons, 0, 999);
    const out: string[] = [];
    for (const id of ids) if ((await this.state(id)) === 'running') out.push(id);
    return out;
  }

  private async cell(id: string, index: number): Promise<CellRecord> {
    const v = await this.redis.hget(keys.comparisonCells(id), String(index));
    return v ? (JSON.parse(v) as CellRecord) : { state: 'pending', campaigns: [], result: null, error: '' };
  }

  /**
   * The campaign of a cell's step `step` (its request id makes starting it idempotent; recording it
   * again at the same step writes the same id).
   */
  async cellCampaign(id: string, index: number, step: number, campaign: string): Promise<void> {
    const c = await this.cell(id, index);
    if (c.state === 'done' || c.state === 'failed') return;
    c.campaigns[step] = campaign;
    c.state = 'running';
    await this.redis.hset(keys.comparisonCells(id), String(index), JSON.stringify(c));
  }

  async cellDone(id: string, index: number, result: CellResult): Promise<void> {
    const c = await this.cell(id, index);
    await this.redis.hset(keys.comparisonCells(id), String(index), JSON.stringify({ ...c, state: 'done', result, error: '' }));
  }

  async cellFailed(id: string, index: number, error: string): Promise<void> {
    const c = await this.cell(id, index);
    await this.redis.hset(keys.comparisonCells(id), String(index), JSON.stringify({ ...c, state: 'failed', error }));
  }

  async cellState(id: string, index: number): Promise<CellRecord> {
    return this.cell(id, index);
  }

  /** Cancels a running comparison (once: a second cancel finds it cancelled); null if there is none. */
  async cancel(id: string): Promise<ComparisonState | null> {
    return ((await this.redis.eval(CANCEL, 1, keys.comparison(id), String(Date.now()))) as ComparisonState | null) ?? null;
  }

  /** Ends the comparison if every cell is done or failed; its state after the call. */
  async finish(id: string, cells: number): Promise<ComparisonState> {
    return (await this.redis.eval(FINISH, 2, keys.comparison(id), keys.comparisonCells(id), String(cells), String(Date.now()))) as ComparisonState;
  }

  async get(id: string): Promise<ComparisonView | null> {
    const [h, cellsRaw] = await Promise.all([this.redis.hgetall(keys.comparison(id)), this.redis.hgetall(keys.comparisonCells(id))]);
    if (!h || !h.id) return null;
    const spec = JSON.parse(h.spec) as ComparisonSpec;
    const cells: ComparisonCellView[] = [];
    let index = 0;
    for (const s of spec.scenarios) {
      for (const v of spec.variants) {
        const raw = cellsRaw[String(index)];
        const c: CellRecord = raw ? (JSON.parse(raw) as CellRecord) : { state: 'pending', campaigns: [], result: null, error: '' };
        cells.push({ index, scenario: s.name, variant: v.name, state: c.state, result: c.result, campaigns: c.campaigns.filter((x) => x), error: c.error });
        index++;
      }
    }
    return {
      id: h.id,
      name: h.name ?? '',
      state: h.state as ComparisonState,
      scenarios: spec.scenarios.map((s) => s.name),
      variants: spec.variants.map((v) => v.name),
      budget: spec.budget,
      split: spec.split,
      cells,
      createdAtMs: Number(h.createdAt ?? 0),
      finishedAtMs: Number(h.finishedAt ?? 0),
    };
  }
}
