import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { InputError } from '../sim/scenario/errors.ts';
import { ALL_ORACLES } from '../sim/oracles/classes.ts';
import { DEFAULT_CELL_BUDGET, cellSteps, type CellAnswer, type CellBudget, type CellRequest, type CellResult } from '../sim/compare/cell.ts';
import type { Finding } from '../sim/finding.ts';
import { validateCampaign, type StartCampaignInput } from '../farm/campaign.ts';
import { TERMINAL_STATES, type CampaignView } from '../farm/store.ts';
import { ComparisonStore, type ComparisonSpec, type ComparisonView } from '../farm/comparisonStore.ts';
import { escapeText } from '../farm/safeText.ts';
import { LimitExceeded } from '../farm/limits.ts';
import { launchCampaign } from './launch.ts';
// A cycle with service.ts, harmless: RpcError is only used when a call runs.
import { RpcError } from './service.ts';
import type { Farm } from './farm.ts';

/**
 * Farm comparisons (StartComparison, `campaign compare`): the local `racefarm compare` matrix with
 * every cell's work run as campaigns. A cell is decided by sim/compare/cell.ts's cellSteps — the
 * same generator the local runCell drives — whose requests this driver answers with campaigns:
 *   search → an exhaustive campaign (K, the cell's execution budget, the target oracles), answered
 *            from its certificate and its first race's finding;
 *   seeds  → a random or pct campaign over seeds [0, N), answered with its schedules and findings;
 *   shrink → the farm's minimized finding of that signature (the campaign that found it is done,
 *            so it is minimized).
 * The generator is deterministic, so a restarted coordinator drives each running comparison again
 * from the start: step k of cell i starts its campaign with request id `<comparison>.<i>.<k>`, which
 * returns the campaign the first run started, finished or not — no campaign runs twice.
 */

export const COMPARISON_DEFAULTS = { seeds: DEFAULT_CELL_BUDGET.seeds, maxSchedules: DEFAULT_CELL_BUDGET.maxSchedules, split: 16, bound: DEFAULT_CELL_BUDGET.bound };
export const COMPARISON_LIMITS = { cells: 1000, seeds: 10_000_000, maxSchedules: 1e9, bound: 20, split: 10_000, name: 128 };
/** Cells driven at once per comparison (each runs one campaign at a time). */
const CELLS_AT_ONCE = 4;
const POLL_MS = 200;

export interface StartComparisonInput {
  name?: string;
  scenarios?: { name?: string; json?: string }[];
  variants?: { preset?: string; json?: string }[];
  preemptions?: number;
  seeds?: number;
  max_schedules?: string | number;
  split?: number;
  request_id?: string;
}

/** Validates a StartComparison request: each entry through the campaign validator, problems named `scenarios[i]…` / `variants[j]…`. */
export function validateComparison(req: StartComparisonInput): ComparisonSpec {
  const problems: string[] = [];
  const name = req.name ?? '';
  if (name.length > COMPARISON_LIMITS.name) problems.push(`name: longer than ${COMPARISON_LIMITS.name} characters`);
  const ss = req.scenarios ?? [];
  const vs = req.variants ?? [];
  if (ss.length === 0) problems.push('scenarios: at least one');
  if (vs.length === 0) problems.push('variants: at least one');
  if (ss.length * vs.length > COMPARISON_LIMITS.cells) problems.push(`scenarios: ${ss.length} × ${vs.length} cells, more than ${COMPARISON_LIMITS.cells}`);
  const check = (input: StartCampaignInput, rename: (p: string) => string | null) => {
    try {
      return validateCampaign({ ...input, seed_count: '1' }, { estimate: false });
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      for (const p of e.problems) {
        const q = rename(p);
        if (q !== null) problems.push(q);
      }
      return null;
    }
  };
  const scenarios = ss.map((s, i) => {
    const spec = check({ scenario_name: s.name ?? '', scenario_json: s.json ?? '', variant_preset: 'v4.13' }, (p) =>
      p.startsWith('variant') ? null : p.replace(/^scenario_name/, `scenarios[${i}].name`).replace(/^scenario_json/, `scenarios[${i}].json`),
    );
    return spec?.scenario ?? null;
  });
  const firstScenario = ss.find((s) => (s.name ?? '') !== '' || (s.json ?? '') !== '') ?? { name: 'cow-two-pages' };
  const variants = vs.map((v, j) => {
    const spec = check({ scenario_name: firstScenario.name ?? '', scenario_json: firstScenario.name ? '' : (firstScenario.json ?? ''), variant_preset: v.preset ?? '', variant_json: v.json ?? '' }, (p) =>
      p.startsWith('variant') ? p.replace(/^variant_preset/, `variants[${j}].preset`).replace(/^variant_json/, `variants[${j}].json`) : null,
    );
    if ((v.preset ?? '') === '' && (v.json ?? '') === '') problems.push(`variants[${j}]: give preset or json`);
    return spec ? { name: spec.variant.name, sites: spec.variant.sites, preset: v.preset ?? '', json: v.json ?? '' } : null;
  });
  const dup = (names: (string | undefined)[], field: string) => {
    const d = names.find((n, i) => n !== undefined && names.indexOf(n) !== i);
    if (d !== undefined) problems.push(`${field}: "${d}" is listed twice`);
  };
  dup(scenarios.map((s) => s?.name), 'scenarios');
  dup(variants.map((v) => v?.name), 'variants');
  const int = (v: number | undefined, field: string, dflt: number, min: number, max: number) => {
    const n = v === undefined || v === 0 ? dflt : v;
    if (!Number.isInteger(n) || n < min || n > max) problems.push(`${field}: must be ${min} to ${max}`);
    return n;
  };
  const bound = req.preemptions === undefined ? COMPARISON_DEFAULTS.bound : int(req.preemptions, 'preemptions', 0, 0, COMPARISON_LIMITS.bound);
  const seeds = int(req.seeds, 'seeds', COMPARISON_DEFAULTS.seeds, 1, COMPARISON_LIMITS.seeds);
  const maxSchedules = int(req.max_schedules === undefined || req.max_schedules === '' ? 0 : Number(req.max_schedules), 'max_schedules', COMPARISON_DEFAULTS.maxSchedules, 1, COMPARISON_LIMITS.maxSchedules);
  const split = int(req.split, 'split', COMPARISON_DEFAULTS.split, 1, COMPARISON_LIMITS.split);
  if (problems.length > 0) throw new InputError('invalid comparison', problems);
  const budget: CellBudget = { ...DEFAULT_CELL_BUDGET, bound, seeds, maxSchedules };
  return { name, scenarios: scenarios.map((s) => s!), variants: variants.map((v) => v!), budget, split };
}

/** Seeds per job of a fallback campaign: a few jobs per campaign, so workers share it. */
function batchOf(seeds: number): number {
  return Math.max(1, Math.min(5000, Math.ceil(seeds / 4)));
}

class CellFailed extends Error {}

/** The comparison was cancelled: its driver stops, leaving the cells as they are. */
class ComparisonCancelled extends Error {}

/** Starts, drives and resumes comparisons; one driver per comparison in this coordinator. */
export class Comparisons {
  readonly store: ComparisonStore;
  private readonly driving = new Map<string, Promise<void>>();
  /**
   * Per comparison, the cell campaigns being launched and not yet recorded in their cell. Cancel
   * waits for them, so the comparison it returns lists every campaign it will ever have (and
   * cancels them): a launch already in flight when the cancel came is not a step started after it.
   */
  private readonly launching = new Map<string, Set<Promise<unknown>>>();
  private stopped = false;

  constructor(private readonly farm: Farm) {
    this.store = new ComparisonStore(farm.store.redis);
  }

  async start(req: StartComparisonInput): Promise<ComparisonView> {
    const rid = req.request_id ?? '';
    if (rid !== '' && !/^[A-Za-z0-9._:-]{1,128}$/.test(rid)) {
      throw new RpcError(grpc.status.INVALID_ARGUMENT, `request_id: ${JSON.stringify(rid)} is not 1 to 128 of A-Z a-z 0-9 . _ : -`);
    }
    const digest = rid === '' ? '' : createHash('sha256').update(JSON.stringify({ ...req, request_id: '' })).digest('hex');
    const same = async (prior: { id: string; digest: string }) => {
      if (prior.digest !== digest) {
        throw new RpcError(grpc.status.FAILED_PRECONDITION, `request_id: ${JSON.stringify(rid)} already started comparison ${prior.id} with a different request`);
      }
      this.drive(prior.id);
      return this.get(prior.id);
    };
    const prior = rid === '' ? null : await this.store.requestComparison(rid);
    if (prior) return same(prior);
    const spec = validateComparison(req);
    const created = await this.store.create(spec, rid === '' ? undefined : { id: rid, digest });
    if (created.existing) return same(created);
    this.farm.log(`comparison ${created.id}: ${spec.scenarios.length} scenario(s) × ${spec.variants.length} variant(s), K=${spec.budget.bound}`);
    this.drive(created.id);
    return this.get(created.id);
  }

  async get(id: string): Promise<ComparisonView> {
    const c = await this.store.get(id);
    if (!c) throw new RpcError(grpc.status.NOT_FOUND, `id: no comparison ${JSON.stringify(id)}`);
    return c;
  }

  /** After a restart: drive every running comparison again (idempotent, see above). */
  async resume(): Promise<void> {
    for (const id of await this.store.running()) this.drive(id);
  }

  stop(): void {
    this.stopped = true;
  }

  /**
   * CancelComparison: the comparison ends `cancelled`; every campaign its cells started that is
   * still pending or running is cancelled (its waiting jobs removed in the background, as for
   * CancelCampaign), and its driver starts no more. Idempotent.
   */
  async cancel(id: string): Promise<ComparisonView> {
    const st = await this.store.cancel(id);
    if (st === null) throw new RpcError(grpc.status.NOT_FOUND, `id: no comparison ${JSON.stringify(id)}`);
    if (st === 'cancelled') {
      await Promise.allSettled([...(this.launching.get(id) ?? [])]);
      await this.cancelCampaigns(id);
    }
    return this.get(id);
  }

  private async cancelCampaigns(id: string): Promise<void> {
    const c = await this.store.get(id);
    for (const cell of c?.cells ?? []) {
      for (const campaign of cell.campaigns) {
        if ((await this.farm.store.cancel(campaign)) === 'cancelled') void this.farm.purgeCancelled(campaign);
      }
    }
  }

  private async throwIfCancelled(id: string): Promise<void> {
    if ((await this.store.state(id)) === 'cancelled') throw new ComparisonCancelled();
  }

  /** Drives a comparison unless this coordinator already does. */
  drive(id: string): void {
    if (this.driving.has(id) || this.stopped) return;
    const p = this.run(id)
      .catch((e) => this.farm.log(`comparison ${id}: ${escapeText((e as Error)?.message ?? String(e))} (a restart resumes it)`))
      .finally(() => this.driving.delete(id));
    this.driving.set(id, p);
  }

  private async run(id: string): Promise<void> {
    const spec = await this.store.spec(id);
    if (!spec) return;
    const n = spec.scenarios.length * spec.variants.length;
    let next = 0;
    const worker = async () => {
      while (!this.stopped && next < n) {
        await this.throwIfCancelled(id);
        const index = next++;
        const cell = await this.store.cellState(id, index);
        if (cell.state === 'done' || cell.state === 'failed') continue;
        try {
          await this.store.cellDone(id, index, await this.runCell(id, spec, index));
        } catch (e) {
          if (!(e instanceof CellFailed)) throw e;
          await this.store.cellFailed(id, index, escapeText(e.message, 500));
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(CELLS_AT_ONCE, n) }, worker));
    } catch (e) {
      if (!(e instanceof ComparisonCancelled)) throw e;
      this.farm.log(`comparison ${id}: cancelled`);
      return;
    }
    if (!this.stopped) {
      const st = await this.store.finish(id, n);
      this.farm.log(`comparison ${id}: ${st}`);
    }
  }

  /** One cell: cellSteps with each request answered by a campaign. */
  private async runCell(id: string, spec: ComparisonSpec, index: number): Promise<CellResult> {
    const scenario = spec.scenarios[Math.floor(index / spec.variants.length)];
    const variant = spec.variants[index % spec.variants.length];
    const base: StartCampaignInput = {
      scenario_json: JSON.stringify(scenario),
      ...(variant.preset !== '' ? { variant_preset: variant.preset } : { variant_json: variant.json }),
    };
    const steps = cellSteps(scenario.name, variant.name, spec.budget, ALL_ORACLES);
    let answer: CellAnswer | undefined;
    for (let step = 0; ; step++) {
      if (this.stopped) throw new Error('the coordinator is shutting down');
      const next = answer === undefined ? steps.next() : steps.next(answer);
      if (next.done) return next.value;
      answer = await this.answer(id, index, step, next.value, base, spec);
    }
  }

  private async campaign(id: string, index: number, step: number, req: StartCampaignInput, target?: CellRequest & { kind: 'search' }): Promise<CampaignView> {
    const request = { ...req, name: `${id} cell ${index} step ${step}`, request_id: `${id}.${index}.${step}` };
    const launch = async (): Promise<CampaignView> => {
      for (;;) {
        await this.throwIfCancelled(id);
        try {
          const c = await launchCampaign(this.farm, request, target ? { target: target.target } : {});
          await this.store.cellCampaign(id, index, step, c.id);
          return c;
        } catch (e) {
          // The farm is full (too many campaigns or queued jobs): wait for room, as a client would.
          if (!(e instanceof LimitExceeded) || this.stopped) throw e;
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    };
    const inFlight = this.launching.get(id) ?? new Set<Promise<unknown>>();
    this.launching.set(id, inFlight);
    const p = launch();
    inFlight.add(p);
    let c: CampaignView;
    try {
      c = await p;
    } finally {
      inFlight.delete(p);
      if (inFlight.size === 0) this.launching.delete(id);
    }
    for (;;) {
      // Cancelled meanwhile (perhaps before this campaign was recorded in its cell): cancel it too.
      if ((await this.store.state(id)) === 'cancelled') {
        if ((await this.farm.store.cancel(c.id)) === 'cancelled') void this.farm.purgeCancelled(c.id);
        throw new ComparisonCancelled();
      }
      const v = await this.farm.store.getCampaign(c.id);
      if (v && TERMINAL_STATES.has(v.state)) {
        if (v.state !== 'done') throw new CellFailed(`campaign ${c.id} ended ${v.state}`);
        return v;
      }
      if (this.stopped) throw new Error('the coordinator is shutting down');
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  private async answer(id: string, index: number, step: number, q: CellRequest, base: StartCampaignInput, spec: ComparisonSpec): Promise<CellAnswer> {
    const b = spec.budget;
    switch (q.kind) {
      case 'search': {
        const c = await this.campaign(id, index, step, { ...base, strategy: 'exhaustive', preemptions: b.bound, split: spec.split, max_schedules: String(b.maxSchedules) }, q);
        const x = c.certificate!;
        const f = x.race ? await this.farm.store.campaignFinding(c.id, x.race.signature) : null;
        return { r: { complete: x.complete, schedules: x.schedules, verdicts: x.verdicts }, f };
      }
      case 'seeds': {
        const s = q.strategy;
        const c = await this.campaign(id, index, step, { ...base, strategy: s.name, depth: s.depth, seed_start: '0', seed_count: String(b.seeds), batch_size: batchOf(b.seeds) });
        const findings: Finding[] = [];
        for (const f of await this.farm.store.listFindings(c.id)) {
          const raw = await this.farm.store.campaignFinding(c.id, f.signature);
          if (raw) findings.push(raw);
        }
        return { schedules: c.schedules, findings };
      }
      case 'shrink': {
        // The campaign that found it is done, so its signature has been minimized (or failed to be).
        const rec = await this.farm.store.getFinding(q.finding.signature);
        const shrunk = rec?.minimized ?? q.finding;
        return { finding: shrunk, before: q.finding.steps, after: shrunk.steps };
      }
    }
  }
}

export function comparisonMessage(c: ComparisonView) {
  return {
    id: c.id,
    name: c.name,
    state: c.state,
    scenarios: [...c.scenarios],
    variants: [...c.variants],
    bound: c.budget.bound,
    seeds: c.budget.seeds,
    max_schedules: String(c.budget.maxSchedules),
    pct_depth: c.budget.pctDepth,
    split: c.split,
    cells_total: c.cells.length,
    cells_done: c.cells.filter((x) => x.state === 'done' || x.state === 'failed').length,
    cells: c.cells.map((x) => ({
      index: x.index,
      scenario: x.scenario,
      variant: x.variant,
      state: x.state,
      result_json: x.result ? JSON.stringify(x.result) : '',
      campaigns: [...x.campaigns],
      error: x.error,
    })),
    created_at_ms: String(c.createdAtMs),
    finished_at_ms: String(c.finishedAtMs),
  };
}
