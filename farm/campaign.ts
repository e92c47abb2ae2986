import { CATALOG, catalogEntry } from '../sim/scenario/catalog.ts';
import { compileScenario } from '../sim/scenario/compile.ts';
import { InputError } from '../sim/scenario/errors.ts';
import type { CompiledScenario, ScenarioJson } from '../sim/scenario/compiled.ts';
import { parseVariantJson, resolvePreset } from '../sim/variants/resolve.ts';
import type { Sites } from '../sim/variants/sites.ts';
import { STRATEGIES, estimateSteps, type StrategyName, type StrategySpec } from '../sim/schedule/strategy.ts';
import { FARM_STRATEGIES } from './strategies.ts';
import { escapeText, hasLoneSurrogate } from './safeText.ts';

export { FARM_STRATEGIES };

/** A StartCampaign request as proto-loader gives it (keepCase, uint64 as decimal strings). */
export interface StartCampaignInput {
  name?: string;
  scenario_name?: string;
  scenario_json?: string;
  variant_preset?: string;
  variant_json?: string;
  strategy?: string;
  depth?: number;
  seed_start?: string | number;
  seed_count?: string | number;
  batch_size?: number;
  coverage?: boolean;
  request_id?: string;
}

/** A validated campaign: everything a fuzz job needs, plus how the range is split. */
export interface CampaignSpec {
  readonly name: string;
  readonly scenario: ScenarioJson;
  readonly variant: { readonly name: string; readonly sites: Sites };
  readonly strategy: StrategySpec;
  readonly seedStart: number;
  readonly seedCount: number;
  readonly batchSize: number;
  readonly jobsTotal: number;
  /** Collect coverage features per run and merge them per campaign. */
  readonly coverage: boolean;
}

export const LIMITS = {
  seedCount: 1e12,
  batchSize: 1_000_000,
  depth: 20,
  name: 128,
  json: 1 << 20,
};
/** Batch: ~0.2 s of cow-two-pages per job, which keeps the per-job queue cost under ~3%. */
export const DEFAULTS = { batchSize: 5000, depth: 3, strategy: 'random' as StrategyName };

/** No control characters, no lone surrogates. */
function printable(s: string): boolean {
  return !hasLoneSurrogate(s) && !/[\u0000-\u001f\u007f-\u009f]/.test(s);
}

function u64(v: string | number | undefined, field: string, problems: string[]): number | undefined {
  if (v === undefined || v === '') return 0;
  const s = String(v);
  if (!/^\d+$/.test(s)) {
    problems.push(`${field}: ${JSON.stringify(v)} is not a non-negative integer`);
    return undefined;
  }
  const n = Number(s);
  if (!Number.isSafeInteger(n)) {
    problems.push(`${field}: ${s} is larger than ${Number.MAX_SAFE_INTEGER}`);
    return undefined;
  }
  return n;
}

function parseJson(text: string, field: string, problems: string[]): unknown {
  if (text.length > LIMITS.json) {
    problems.push(`${field}: longer than ${LIMITS.json} characters`);
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    problems.push(`${field}: not valid JSON (${(e as Error).message})`);
    return undefined;
  }
}

/** Prefixes each problem with the request field it came from: `scenario_json.threads[2]…`. */
function nest(field: string, e: unknown, problems: string[]): void {
  if (e instanceof InputError) {
    for (const p of e.problems) {
      if (p.startsWith('(top level)')) problems.push(`${field}${p.slice('(top level)'.length)}`);
      else problems.push(`${field}.${p}`);
    }
  } else problems.push(`${field}: ${(e as Error).message}`);
}

/**
 * Validates a StartCampaign request (and, unless `estimate` is false, estimates the scenario's run
 * length for PCT: strategy.kSteps). Throws InputError whose problems each start with the name of
 * the request field at fault (e.g. `seed_count: must be at least 1`).
 */
export function validateCampaign(req: StartCampaignInput, opts: { readonly estimate?: boolean } = {}): CampaignSpec {
  const problems: string[] = [];
  const name = req.name ?? '';
  if (name.length > LIMITS.name) problems.push(`name: longer than ${LIMITS.name} characters`);
  else if (!printable(name)) problems.push(`name: ${JSON.stringify(escapeText(name))} has control characters or lone surrogates`);

  let sc: CompiledScenario | undefined;
  const sName = req.scenario_name ?? '';
  const sJson = req.scenario_json ?? '';
  if (sName !== '' && sJson !== '') problems.push('scenario_name: give scenario_name or scenario_json, not both');
  else if (sName === '' && sJson === '') problems.push('scenario_name: required (or scenario_json)');
  else if (sName !== '') {
    const e = catalogEntry(sName);
    if (!e) problems.push(`scenario_name: unknown scenario ${JSON.stringify(sName)} (built-in: ${CATALOG.map((c) => c.scenario.name).join(', ')})`);
    else sc = compileScenario(e.scenario);
  } else {
    const j = parseJson(sJson, 'scenario_json', problems);
    if (j !== undefined) {
      try {
        sc = compileScenario(j);
      } catch (e) {
        nest('scenario_json', e, problems);
      }
    }
  }

  let variant: { name: string; sites: Sites } | undefined;
  const vPreset = req.variant_preset ?? '';
  const vJson = req.variant_json ?? '';
  try {
    if (vPreset !== '' && vJson !== '') problems.push('variant_preset: give variant_preset or variant_json, not both');
    else if (vJson !== '') {
      const j = parseJson(vJson, 'variant_json', problems);
      if (j !== undefined) {
        try {
          const v = parseVariantJson(j, 'custom');
          variant = { name: v.name, sites: v.sites };
        } catch (e) {
          nest('variant_json', e, problems);
        }
      }
    } else {
      const v = resolvePreset(vPreset !== '' ? vPreset : (sc?.variant ?? 'v4.13'));
      variant = { name: v.name, sites: v.sites };
    }
  } catch (e) {
    if (e instanceof InputError) problems.push(...e.problems.map((p) => p.replace(/^variant:/, 'variant_preset:')));
    else throw e;
  }

  const strategyName = (req.strategy ?? '') === '' ? DEFAULTS.strategy : req.strategy!;
  if (!(FARM_STRATEGIES as readonly string[]).includes(strategyName)) {
    problems.push(
      (STRATEGIES as readonly string[]).includes(strategyName)
        ? `strategy: ${JSON.stringify(strategyName)} is not supported by the farm yet (its corpus would have to flow between seed ranges; farm strategies: ${FARM_STRATEGIES.join(', ')})`
        : `strategy: ${JSON.stringify(strategyName)} is not a strategy (farm strategies: ${FARM_STRATEGIES.join(', ')})`,
    );
  }
  const depth = req.depth === undefined || req.depth === 0 ? DEFAULTS.depth : req.depth;
  if (!Number.isInteger(depth) || depth < 1 || depth > LIMITS.depth) problems.push(`depth: must be 1 to ${LIMITS.depth}`);

  const seedStart = u64(req.seed_start, 'seed_start', problems);
  const seedCount = u64(req.seed_count, 'seed_count', problems);
  if (seedCount !== undefined) {
    if (seedCount < 1) problems.push('seed_count: must be at least 1');
    else if (seedCount > LIMITS.seedCount) problems.push(`seed_count: at most ${LIMITS.seedCount}`);
  }
  if (seedStart !== undefined && seedCount !== undefined && !Number.isSafeInteger(seedStart + seedCount)) {
    problems.push(`seed_start: seed_start + seed_count exceeds ${Number.MAX_SAFE_INTEGER}`);
  }
  const batchSize = req.batch_size === undefined || req.batch_size === 0 ? DEFAULTS.batchSize : req.batch_size;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > LIMITS.batchSize) {
    problems.push(`batch_size: must be 1 to ${LIMITS.batchSize}`);
  }
  // How many jobs a campaign may have is the farm's limit (farm/limits.ts), checked by the coordinator.
  let jobsTotal = 0;
  if (seedCount !== undefined && seedCount >= 1 && problems.every((p) => !p.startsWith('batch_size'))) jobsTotal = Math.ceil(seedCount / batchSize);

  // Names become metric labels, log lines and file names: printable text only.
  if (sc && !printable(sc.source.name)) problems.push(`${sJson !== '' ? 'scenario_json.name' : 'scenario_name'}: has control characters or lone surrogates`);
  if (variant && !printable(variant.name)) problems.push('variant_json.name: has control characters or lone surrogates');
  if (problems.length > 0 || !sc || !variant || seedStart === undefined || seedCount === undefined) {
    throw new InputError('invalid campaign', problems.length > 0 ? problems : ['(top level): invalid']);
  }
  // PCT's k is the length of one run without preemption: up to maxSteps (1e6) steps of simulation.
  // The coordinator passes estimate: false and runs it off its event loop (coordinator/simThread.ts).
  const strategy: StrategySpec = { name: strategyName as StrategyName, depth, kSteps: opts.estimate === false ? 0 : estimateSteps(sc, variant.sites) };
  return { name, scenario: sc.source, variant, strategy, seedStart, seedCount, batchSize, jobsTotal, coverage: req.coverage === true };
}

/** The seed ranges [start, start + count) of a campaign's fuzz jobs, in order. */
export function* ranges(spec: Pick<CampaignSpec, 'seedStart' | 'seedCount' | 'batchSize'>): Generator<{ start: number; count: number }> {
  const end = spec.seedStart + spec.seedCount;
  for (let s = spec.seedStart; s < end; s += spec.batchSize) yield { start: s, count: Math.min(spec.batchSize, end - s) };
}
