import { CATALOG, catalogEntry } from '../sim/scenario/catalog.ts';
import { compileScenario } from '../sim/scenario/compile.ts';
import { InputError } from '../sim/scenario/errors.ts';
import type { CompiledScenario, ScenarioJson } from '../sim/scenario/compiled.ts';
import { parseVariantJson, resolvePreset } from '../sim/variants/resolve.ts';
import type { Sites } from '../sim/variants/sites.ts';
import { STRATEGIES, estimateSteps, type StrategyName, type StrategySpec } from '../sim/schedule/strategy.ts';
import type { FindingStrategy } from '../sim/finding.ts';
import { FARM_STRATEGIES } from './strategies.ts';
import { PCT_AUTO_DEPTH } from '../sim/schedule/pct.ts';
import { EXHAUSTIVE_DEFAULTS, EXHAUSTIVE_LIMITS, type ExhaustiveSpec } from './exhaustiveSpec.ts';
import { escapeText, hasLoneSurrogate } from './safeText.ts';
import { EXPLORE_DEFAULTS, exploreListing, exploreStub, validateExploreFields, type ExploreCampaign } from './exploreCampaign.ts';

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
  /** Exhaustive only: preemption bound K (default 2), prefix jobs asked for, execution budget. */
  preemptions?: number;
  split?: number;
  max_schedules?: string | number;
  no_reduction?: boolean;
  /** An explore campaign (farm/exploreCampaign.ts): generated programs; seeds are program seeds. */
  explore?: boolean;
  schedules_per_program?: number;
}

/** A validated campaign: everything a fuzz job needs, plus how the range is split. */
export interface CampaignSpec {
  readonly name: string;
  readonly scenario: ScenarioJson;
  readonly variant: { readonly name: string; readonly sites: Sites };
  /** An exhaustive campaign's strategy is { name: 'exhaustive', depth: its bound K }. */
  readonly strategy: FindingStrategy;
  readonly seedStart: number;
  readonly seedCount: number;
  readonly batchSize: number;
  readonly jobsTotal: number;
  /** Collect coverage features per run and merge them per campaign. */
  readonly coverage: boolean;
  /**
   * An exhaustive campaign: its "seeds" are prefix indexes, one per job ([0, prefixes), batch 1);
   * the coordinator fills in the prefixes (withPrefixes) before the campaign is created.
   */
  readonly exhaustive?: ExhaustiveSpec;
  /** An explore campaign: its seeds are program seeds, its scenario the first program (for listing). */
  readonly explore?: ExploreCampaign;
}

export const LIMITS = {
  seedCount: 1e12,
  batchSize: 1_000_000,
  depth: 20,
  name: 128,
  json: 1 << 20,
};
/** Batch: ~0.2 s of cow-two-pages per job, which keeps the per-job queue cost under ~3%. */
/** Depth 0 (unset in the request) is PCT auto: each seed its own depth (sim/schedule/pct.ts). */
export const DEFAULTS = { batchSize: 5000, depth: PCT_AUTO_DEPTH, strategy: 'random' as StrategyName };

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
  const isExplore = req.explore === true;
  if (isExplore) {
    if (sName !== '' || sJson !== '') problems.push('scenario_name: an explore campaign generates its programs; give no scenario');
  } else if (sName !== '' && sJson !== '') problems.push('scenario_name: give scenario_name or scenario_json, not both');
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
          // Without a name: `campaign start` sends the file's (cli/variantFileName.ts); raw gRPC text has none.
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

  if (isExplore) return exploreCampaign(req, name, variant, problems);
  if (req.schedules_per_program !== undefined && req.schedules_per_program !== 0) problems.push('schedules_per_program: only for an explore campaign');
  const strategyName = (req.strategy ?? '') === '' ? DEFAULTS.strategy : req.strategy!;
  if (!(FARM_STRATEGIES as readonly string[]).includes(strategyName)) {
    problems.push(
      (STRATEGIES as readonly string[]).includes(strategyName)
        ? `strategy: ${JSON.stringify(strategyName)} is not supported by the farm yet (its corpus would have to flow between seed ranges; farm strategies: ${FARM_STRATEGIES.join(', ')})`
        : `strategy: ${JSON.stringify(strategyName)} is not a strategy (farm strategies: ${FARM_STRATEGIES.join(', ')})`,
    );
  }
  const depth = req.depth === undefined ? DEFAULTS.depth : req.depth;
  if (!Number.isInteger(depth) || (depth !== PCT_AUTO_DEPTH && (depth < 1 || depth > LIMITS.depth))) {
    problems.push(`depth: must be 0 (auto) or 1 to ${LIMITS.depth}`);
  }

  const isExhaustive = strategyName === 'exhaustive';
  const exhaustive = isExhaustive ? validateExhaustive(req, problems) : undefined;
  if (!isExhaustive) {
    for (const f of ['preemptions', 'split', 'max_schedules'] as const) {
      const v = req[f];
      if (v !== undefined && v !== 0 && v !== '0' && v !== '') problems.push(`${f}: only for the exhaustive strategy`);
    }
    if (req.no_reduction === true) problems.push('no_reduction: only for the exhaustive strategy');
  }
  const seedStart = u64(req.seed_start, 'seed_start', problems);
  const seedCount = isExhaustive ? 1 : u64(req.seed_count, 'seed_count', problems);
  if (isExhaustive) {
    // Its jobs are decision prefixes, not seeds: a seed range would be silently ignored.
    if (u64(req.seed_count, 'seed_count', problems)) problems.push('seed_count: an exhaustive campaign has no seeds (its jobs are decision prefixes; see split)');
    if (u64(req.seed_start, 'seed_start', problems)) problems.push('seed_start: an exhaustive campaign has no seeds');
    if (req.coverage === true) problems.push('coverage: not collected by the exhaustive strategy');
  }
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
  if (exhaustive) {
    // One job per prefix, known once the coordinator has split the search (withPrefixes).
    const strategy: FindingStrategy = { name: 'exhaustive', depth: exhaustive.bound, kSteps: 0 };
    return { name, scenario: sc.source, variant, strategy, seedStart: 0, seedCount: exhaustive.split, batchSize: 1, jobsTotal: exhaustive.split, coverage: false, exhaustive };
  }
  const strategy: StrategySpec = { name: strategyName as StrategyName, depth, kSteps: opts.estimate === false ? 0 : estimateSteps(sc, variant.sites) };
  return { name, scenario: sc.source, variant, strategy, seedStart, seedCount, batchSize, jobsTotal, coverage: req.coverage === true };
}

/**
 * An explore campaign's spec (farm/exploreCampaign.ts): program seeds [seed_start, seed_start +
 * seed_count), batch_size programs per job (default 100), the schedules and strategy of each.
 */
function exploreCampaign(req: StartCampaignInput, name: string, variant: { name: string; sites: Sites } | undefined, problems: string[]): CampaignSpec {
  const explore = validateExploreFields(req, problems);
  if (!Number.isInteger(explore.depth) || explore.depth < 1 || explore.depth > LIMITS.depth) problems.push(`depth: must be 1 to ${LIMITS.depth}`);
  for (const f of ['preemptions', 'split', 'max_schedules'] as const) {
    const v = req[f];
    if (v !== undefined && v !== 0 && v !== '0' && v !== '') problems.push(`${f}: only for the exhaustive strategy`);
  }
  if (req.no_reduction === true) problems.push('no_reduction: only for the exhaustive strategy');
  if (req.coverage === true) problems.push('coverage: not collected by an explore campaign (racefarm explore --coverage reports it locally)');
  const seedStart = u64(req.seed_start, 'seed_start', problems);
  const seedCount = u64(req.seed_count, 'seed_count', problems);
  if (seedCount !== undefined && seedCount < 1) problems.push('seed_count: the number of programs; must be at least 1');
  else if (seedCount !== undefined && seedCount > LIMITS.seedCount) problems.push(`seed_count: at most ${LIMITS.seedCount}`);
  if (seedStart !== undefined && seedCount !== undefined && !Number.isSafeInteger(seedStart + seedCount)) {
    problems.push(`seed_start: seed_start + seed_count exceeds ${Number.MAX_SAFE_INTEGER}`);
  }
  const batchSize = req.batch_size === undefined || req.batch_size === 0 ? EXPLORE_DEFAULTS.batchSize : req.batch_size;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > LIMITS.batchSize) problems.push(`batch_size: must be 1 to ${LIMITS.batchSize}`);
  if (variant && !printable(variant.name)) problems.push('variant_json.name: has control characters or lone surrogates');
  if (problems.length > 0 || !variant || seedStart === undefined || seedCount === undefined) {
    throw new InputError('invalid campaign', problems.length > 0 ? problems : ['(top level): invalid']);
  }
  const jobsTotal = Math.ceil(seedCount / batchSize);
  return { name, scenario: exploreStub(seedStart, variant), variant, strategy: exploreListing(explore.depth), seedStart, seedCount, batchSize, jobsTotal, coverage: false, explore };
}

function validateExhaustive(req: StartCampaignInput, problems: string[]): ExhaustiveSpec {
  const small = (v: number | undefined, field: string, dflt: number, max: number, min: number): number => {
    const n = v === undefined || v === 0 ? dflt : v;
    if (!Number.isInteger(n) || n < min || n > max) problems.push(`${field}: must be ${min} to ${max}`);
    return n;
  };
  // preemptions 0 is a meaningful bound (no preemption at all), so absent means the default.
  const bound = req.preemptions === undefined ? EXHAUSTIVE_DEFAULTS.bound : small(req.preemptions, 'preemptions', 0, EXHAUSTIVE_LIMITS.bound, 0);
  const split = small(req.split, 'split', EXHAUSTIVE_DEFAULTS.split, EXHAUSTIVE_LIMITS.split, 1);
  let maxSchedules = u64(req.max_schedules, 'max_schedules', problems) ?? 0;
  if (maxSchedules === 0) maxSchedules = EXHAUSTIVE_DEFAULTS.maxSchedules;
  else if (maxSchedules > EXHAUSTIVE_LIMITS.maxSchedules) problems.push(`max_schedules: at most ${EXHAUSTIVE_LIMITS.maxSchedules}`);
  return { bound, reduction: req.no_reduction !== true, maxSchedules, split, target: null, prefixes: [] };
}

/** The seed ranges [start, start + count) of a campaign's fuzz jobs, in order. */
export function* ranges(spec: Pick<CampaignSpec, 'seedStart' | 'seedCount' | 'batchSize'>): Generator<{ start: number; count: number }> {
  const end = spec.seedStart + spec.seedCount;
  for (let s = spec.seedStart; s < end; s += spec.batchSize) yield { start: s, count: Math.min(spec.batchSize, end - s) };
}
