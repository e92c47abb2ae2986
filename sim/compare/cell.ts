import type { CompiledScenario } from '../scenario/compiled.ts';
import type { Variant } from '../variants/presets.ts';
import type { Finding } from '../finding.ts';
import type { OracleName } from '../oracles/violation.ts';
import { ALL_ORACLES, oracleClass, type OracleClass, type OracleSelection } from '../oracles/classes.ts';
import { exhaustive, exhaustiveFindings, type ExhaustiveResult } from '../schedule/exhaustive.ts';
import { isRace, mergeBatches, emptyBatch, runSeeds, type BatchResult } from '../fuzz.ts';
import { estimateSteps, type StrategySpec } from '../schedule/strategy.ts';
import { shrinkFinding } from '../shrink/shrink.ts';

/**
 * One cell of the comparison matrix (`racefarm compare`): a scenario under a variant, searched
 * exhaustively up to a preemption bound within a schedule budget, then — if the search could not
 * finish — by random and PCT seeds. Pure and deterministic: the budget counts schedules, never
 * time, so a cell's verdict does not depend on the machine, its load or the worker that ran it.
 */

/**
 * What a cell shows:
 *   race       — an observable oracle fired (a program, device or the kernel saw wrong data or hung);
 *   invariant  — only an invariant oracle fired (e.g. split-mapping): the protocol's rule broke,
 *                nothing observable followed in any schedule searched;
 *   certified  — the exhaustive search covered every schedule within the bound: clean within K
 *                preemptions (up to the partial-order reduction's equivalence);
 *   clean      — the search ran out of budget and the seed campaigns found nothing: clean in N
 *                seeds, not certified.
 */
export const CELL_KINDS = ['race', 'invariant', 'certified', 'clean'] as const;
export type CellKind = (typeof CELL_KINDS)[number];

export interface CellBudget {
  /** Preemption bound K of the exhaustive search. */
  readonly bound: number;
  /** Executions the exhaustive search may spend per search (it runs at most twice: observable, then invariant). */
  readonly maxSchedules: number;
  /** Seeds of each fallback campaign (random, then PCT) when the search is incomplete. */
  readonly seeds: number;
  /** PCT bug depth of the fallback campaign. */
  readonly pctDepth: number;
  /** Simulator runs the shrinker may spend on the cell's finding. */
  readonly shrinkRuns: number;
}

export const DEFAULT_CELL_BUDGET: CellBudget = { bound: 2, maxSchedules: 10000, seeds: 1000, pctDepth: 3, shrinkRuns: 500 };

export interface CellResult {
  readonly scenario: string;
  readonly variant: string;
  readonly kind: CellKind;
  /** The oracle of the cell's finding (race, invariant), else null. */
  readonly oracle: OracleName | null;
  readonly class: OracleClass | null;
  readonly signature: string | null;
  /** The finding, shrunk (race, invariant), else null. */
  readonly finding: Finding | null;
  /** Steps of the raw finding and of the shrunk one. */
  readonly stepsBefore: number | null;
  readonly steps: number | null;
  /** Executions the cell ran: exhaustive schedules (not the pruned ones) plus fallback seeds. */
  readonly schedules: number;
  /** Exhaustive schedules alone. */
  readonly exhaustiveSchedules: number;
  /** Fallback seeds run (random + PCT); 0 when the exhaustive search decided the cell. */
  readonly seeds: number;
  readonly bound: number;
  /** The exhaustive search covered every schedule within the bound. */
  readonly complete: boolean;
  /** How the finding was found: exhaustive, random or pct; null when there is none. */
  readonly foundBy: 'exhaustive' | 'random' | 'pct' | null;
}

function observableIn(sel: OracleSelection): OracleName[] {
  return [...sel].filter((o) => isRace(o) && oracleClass(o) === 'observable');
}

function invariantIn(sel: OracleSelection): OracleName[] {
  return [...sel].filter((o) => isRace(o) && oracleClass(o) === 'invariant');
}

/** The search stops at the first schedule on which one of `target` fires; its finding for that oracle. */
function search(sc: CompiledScenario, variant: Variant, b: CellBudget, target: readonly OracleName[]): { r: ExhaustiveResult; f: Finding | null } {
  const r = exhaustive(sc, variant.sites, { bound: b.bound, reduction: true, stopAtFirst: true, maxSchedules: b.maxSchedules, target });
  const f = exhaustiveFindings(sc, variant, r).find((x) => target.includes(x.oracle)) ?? null;
  return { r, f };
}

/** The verdicts a search saw include one of these oracles (ExhaustiveResult.verdicts: comma-joined names per schedule). */
function sawAny(r: ExhaustiveResult, oracles: readonly OracleName[]): boolean {
  return r.verdicts.some((v) => v.split(',').some((o) => (oracles as readonly string[]).includes(o)));
}

/** The lowest-seed finding among `oracles`, observable order within the batch (canonical: by seed, step, oracle, signature). */
function firstOf(batch: BatchResult, oracles: readonly OracleName[]): Finding | null {
  const hits = batch.findings.filter((f) => oracles.includes(f.oracle));
  hits.sort((a, b) => a.seed - b.seed || a.step - b.step || (a.oracle < b.oracle ? -1 : a.oracle > b.oracle ? 1 : 0) || (a.signature < b.signature ? -1 : 1));
  return hits[0] ?? null;
}

function shrunk(f: Finding, runs: number): { finding: Finding; before: number; after: number } {
  try {
    const s = shrinkFinding(f, { maxRuns: runs });
    return { finding: s.finding, before: s.stats.stepsBefore, after: s.stats.stepsAfter };
  } catch {
    // It did not replay by itself (a deterministic run always does): keep the raw finding.
    return { finding: f, before: f.steps, after: f.steps };
  }
}

/**
 * Runs one cell. Order of work, each step only when the previous one decided nothing:
 *   1. exhaustive search for an observable oracle (→ race);
 *   2. if that search was complete: invariant oracles seen in it (→ invariant, with a finding from a
 *      second search that stops at the first of them), else certified;
 *   3. incomplete: random then PCT seeds [0, N) (→ race on an observable finding, else invariant on an
 *      invariant one seen by the search or the seeds, else clean).
 */
export function runCell(sc: CompiledScenario, variant: Variant, budget: CellBudget = DEFAULT_CELL_BUDGET, oracles: OracleSelection = ALL_ORACLES): CellResult {
  const observable = observableIn(oracles);
  const invariant = invariantIn(oracles);
  const base = { scenario: sc.name, variant: variant.name, bound: budget.bound };
  const done = (
    kind: CellKind,
    raw: Finding | null,
    foundBy: CellResult['foundBy'],
    exhaustiveSchedules: number,
    seeds: number,
    complete: boolean,
  ): CellResult => {
    const s = raw !== null && budget.shrinkRuns > 0 ? shrunk(raw, budget.shrinkRuns) : null;
    const f = s?.finding ?? raw;
    return {
      ...base,
      kind,
      oracle: f?.oracle ?? null,
      class: f !== null ? oracleClass(f.oracle) : null,
      signature: f?.signature ?? null,
      finding: f,
      stepsBefore: s?.before ?? raw?.steps ?? null,
      steps: s?.after ?? raw?.steps ?? null,
      schedules: exhaustiveSchedules + seeds,
      exhaustiveSchedules,
      seeds,
      complete,
      foundBy,
    };
  };

  // 1. An observable race within the bound.
  const obs = observable.length > 0 ? search(sc, variant, budget, observable) : null;
  if (obs?.f) return done('race', obs.f, 'exhaustive', obs.r.schedules, 0, false);
  let schedules = obs?.r.schedules ?? 0;
  // With no observable oracle selected, the invariant search alone decides completeness.
  let complete = obs?.r.complete ?? invariant.length === 0;

  // 2. An invariant violation the search saw (or, without an observable search, any): find it, stopping there.
  if (invariant.length > 0 && (obs === null || sawAny(obs.r, invariant))) {
    const inv = search(sc, variant, budget, invariant);
    schedules += inv.r.schedules;
    if (obs === null) complete = inv.r.complete;
    if (inv.f) return done('invariant', inv.f, 'exhaustive', schedules, 0, complete);
  }
  if (complete) return done('certified', null, null, schedules, 0, true);

  // 3. Incomplete within the budget: seed campaigns, random then PCT, seeds [0, N) each.
  const campaign = emptyBatch();
  const strategies: StrategySpec[] = [
    { name: 'random', depth: budget.pctDepth, kSteps: 0 },
    { name: 'pct', depth: budget.pctDepth, kSteps: estimateSteps(sc, variant.sites) },
  ];
  let seeds = 0;
  for (const strategy of strategies) {
    const batch = runSeeds(sc, variant, strategy, 0, budget.seeds, undefined, { oracles });
    seeds += batch.schedules;
    const hit = firstOf(batch, observable);
    if (hit) return done('race', hit, strategy.name as 'random' | 'pct', schedules, seeds, false);
    mergeBatches(campaign, batch);
  }
  const inv = firstOf(campaign, invariant);
  if (inv) return done('invariant', inv, inv.strategy.name as 'random' | 'pct', schedules, seeds, false);
  return done('clean', null, null, schedules, seeds, false);
}
