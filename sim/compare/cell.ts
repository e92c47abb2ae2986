import type { CompiledScenario } from '../scenario/compiled.ts';
import type { Variant } from '../variants/presets.ts';
import type { Finding } from '../finding.ts';
import type { OracleName } from '../oracles/violation.ts';
import { ALL_ORACLES, oracleClass, type OracleClass, type OracleSelection } from '../oracles/classes.ts';
import { exhaustive, exhaustiveFindings } from '../schedule/exhaustive.ts';
import { isRace, mergeBatches, emptyBatch, runSeeds } from '../fuzz.ts';
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

/**
 * What a cell asks for, one request at a time (cellSteps): the decision logic is one generator, and
 * a driver answers the requests — runCell here, in this thread; the farm's coordinator by running
 * each request as a campaign (the farm comparison). Both drive the same generator, so a farm
 * comparison decides each cell exactly as the local `compare` does.
 *   search — the exhaustive search up to budget.bound preemptions within budget.maxSchedules
 *            executions, stopping at the first schedule on which one of `target` fires; answered
 *            with the search's outcome and its finding for that oracle (the first of `target` among
 *            that schedule's violations), or null;
 *   seeds  — seeds [0, budget.seeds) of `strategy` (all oracles of the selection counted), answered
 *            with the campaign's schedules and its findings (one per signature, at its lowest seed);
 *   shrink — the finding to shrink (budget.shrinkRuns runs), answered with the shrunk finding and
 *            the steps before and after.
 */
export type CellRequest =
  | { readonly kind: 'search'; readonly target: readonly OracleName[] }
  | { readonly kind: 'seeds'; readonly strategy: StrategySpec }
  | { readonly kind: 'shrink'; readonly finding: Finding };

/** The part of an exhaustive search's outcome a cell looks at. */
export interface SearchOutcome {
  readonly complete: boolean;
  readonly schedules: number;
  readonly verdicts: readonly string[];
}

export interface SearchAnswer {
  readonly r: SearchOutcome;
  readonly f: Finding | null;
}

export interface SeedsAnswer {
  readonly schedules: number;
  readonly findings: readonly Finding[];
}

export interface ShrinkAnswer {
  readonly finding: Finding;
  readonly before: number;
  readonly after: number;
}

export type CellAnswer = SearchAnswer | SeedsAnswer | ShrinkAnswer;

/** The search stops at the first schedule on which one of `target` fires; its finding for that oracle. */
function search(sc: CompiledScenario, variant: Variant, b: CellBudget, target: readonly OracleName[]): SearchAnswer {
  const r = exhaustive(sc, variant.sites, { bound: b.bound, reduction: true, stopAtFirst: true, maxSchedules: b.maxSchedules, target });
  const f = exhaustiveFindings(sc, variant, r).find((x) => target.includes(x.oracle)) ?? null;
  return { r, f };
}

/** The verdicts a search saw include one of these oracles (ExhaustiveResult.verdicts: comma-joined names per schedule). */
function sawAny(r: SearchOutcome, oracles: readonly OracleName[]): boolean {
  return r.verdicts.some((v) => v.split(',').some((o) => (oracles as readonly string[]).includes(o)));
}

/** The lowest-seed finding among `oracles`, observable order within the batch (canonical: by seed, step, oracle, signature). */
function firstOf(batch: { readonly findings: readonly Finding[] }, oracles: readonly OracleName[]): Finding | null {
  const hits = batch.findings.filter((f) => oracles.includes(f.oracle));
  hits.sort((a, b) => a.seed - b.seed || a.step - b.step || (a.oracle < b.oracle ? -1 : a.oracle > b.oracle ? 1 : 0) || (a.signature < b.signature ? -1 : 1));
  return hits[0] ?? null;
}

function shrunk(f: Finding, runs: number): ShrinkAnswer {
  try {
    const s = shrinkFinding(f, { maxRuns: runs });
    return { finding: s.finding, before: s.stats.stepsBefore, after: s.stats.stepsAfter };
  } catch {
    // It did not replay by itself (a deterministic run always does): keep the raw finding.
    return { finding: f, before: f.steps, after: f.steps };
  }
}

/**
 * One cell's decisions. Order of work, each step only when the previous one decided nothing:
 *   1. exhaustive search for an observable oracle (→ race);
 *   2. if that search was complete: invariant oracles seen in it (→ invariant, with a finding from a
 *      second search that stops at the first of them), else certified;
 *   3. incomplete: random then PCT seeds [0, N) (→ race on an observable finding, else invariant on an
 *      invariant one seen by the search or the seeds, else clean).
 * A `seeds` request for PCT carries kSteps 0: the driver fills in the run length (estimateSteps).
 */
export function* cellSteps(
  scenario: string,
  variantName: string,
  budget: CellBudget = DEFAULT_CELL_BUDGET,
  oracles: OracleSelection = ALL_ORACLES,
): Generator<CellRequest, CellResult, CellAnswer> {
  const observable = observableIn(oracles);
  const invariant = invariantIn(oracles);
  const base = { scenario, variant: variantName, bound: budget.bound };
  function* done(
    kind: CellKind,
    raw: Finding | null,
    foundBy: CellResult['foundBy'],
    exhaustiveSchedules: number,
    seeds: number,
    complete: boolean,
  ): Generator<CellRequest, CellResult, CellAnswer> {
    const s = raw !== null && budget.shrinkRuns > 0 ? ((yield { kind: 'shrink', finding: raw }) as ShrinkAnswer) : null;
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
  }

  // 1. An observable race within the bound.
  const obs = observable.length > 0 ? ((yield { kind: 'search', target: observable }) as SearchAnswer) : null;
  if (obs?.f) return yield* done('race', obs.f, 'exhaustive', obs.r.schedules, 0, false);
  let schedules = obs?.r.schedules ?? 0;
  // With no observable oracle selected, the invariant search alone decides completeness.
  let complete = obs?.r.complete ?? invariant.length === 0;

  // 2. An invariant violation the search saw (or, without an observable search, any): find it, stopping there.
  if (invariant.length > 0 && (obs === null || sawAny(obs.r, invariant))) {
    const inv = (yield { kind: 'search', target: invariant }) as SearchAnswer;
    schedules += inv.r.schedules;
    if (obs === null) complete = inv.r.complete;
    if (inv.f) return yield* done('invariant', inv.f, 'exhaustive', schedules, 0, complete);
  }
  if (complete) return yield* done('certified', null, null, schedules, 0, true);

  // 3. Incomplete within the budget: seed campaigns, random then PCT, seeds [0, N) each.
  const campaign = emptyBatch();
  const strategies: StrategySpec[] = [
    { name: 'random', depth: budget.pctDepth, kSteps: 0 },
    { name: 'pct', depth: budget.pctDepth, kSteps: 0 },
  ];
  let seeds = 0;
  for (const strategy of strategies) {
    const batch = (yield { kind: 'seeds', strategy }) as SeedsAnswer;
    seeds += batch.schedules;
    const hit = firstOf(batch, observable);
    if (hit) return yield* done('race', hit, strategy.name as 'random' | 'pct', schedules, seeds, false);
    mergeBatches(campaign, { ...emptyBatch(), schedules: batch.schedules, findings: [...batch.findings] });
  }
  const inv = firstOf(campaign, invariant);
  if (inv) return yield* done('invariant', inv, inv.strategy.name as 'random' | 'pct', schedules, seeds, false);
  return yield* done('clean', null, null, schedules, seeds, false);
}

/** Runs one cell in this thread: cellSteps with every request answered by the simulator here. */
export function runCell(sc: CompiledScenario, variant: Variant, budget: CellBudget = DEFAULT_CELL_BUDGET, oracles: OracleSelection = ALL_ORACLES): CellResult {
  // PCT's run length, computed only when the fallback campaigns run (as before: no cost otherwise).
  let kSteps = -1;
  const steps = cellSteps(sc.name, variant.name, budget, oracles);
  let answer: CellAnswer | undefined;
  for (;;) {
    const next = answer === undefined ? steps.next() : steps.next(answer);
    if (next.done) return next.value;
    const q = next.value;
    switch (q.kind) {
      case 'search':
        answer = search(sc, variant, budget, q.target);
        break;
      case 'seeds': {
        let strategy = q.strategy;
        if (strategy.name === 'pct') {
          if (kSteps < 0) kSteps = estimateSteps(sc, variant.sites);
          strategy = { ...strategy, kSteps };
        }
        const batch = runSeeds(sc, variant, strategy, 0, budget.seeds, undefined, { oracles });
        answer = { schedules: batch.schedules, findings: batch.findings };
        break;
      }
      case 'shrink':
        answer = shrunk(q.finding, budget.shrinkRuns);
        break;
    }
  }
}
