import { mergeBatches, runSeeds, type BatchResult } from '../fuzz.ts';
import type { Finding } from '../finding.ts';
import type { Variant } from '../variants/presets.ts';
import { estimateSteps, type StrategyName, type StrategySpec } from '../schedule/strategy.ts';
import { OBSERVABLE_ORACLES, oracleClass, type OracleSelection } from '../oracles/classes.ts';
import type { OracleName } from '../oracles/violation.ts';
import type { ScenarioJson } from '../scenario/compiled.ts';
import { generateProgram } from './generation.ts';
import { iommuOptionsFor } from './era.ts';
import { validateProgram } from './validation.ts';
import { emptyCoverage, mergeCoverage, programCoverage, type ProgramCoverage } from './coverage.ts';
import { knownBugOfFinding } from '../known/knownBugs.ts';

/**
 * The explore loop (racefarm explore): for program i of a range, generate it, validate it, run M
 * schedules of a strategy, and collect each unique finding (one per signature and known label, from the lowest program
 * and then the lowest schedule seed). Pure: the result depends only on the arguments, so a range can
 * be split into pieces anywhere (worker threads, farm jobs) and merged in program order.
 */
export interface ExploreOptions {
  readonly variant: Variant;
  /** Differential mode: also run every program under this variant and report programs whose observable verdicts differ. */
  readonly against?: Variant;
  /** Schedules per program (seeds 0..M-1). */
  readonly schedules: number;
  readonly strategy: ExploreStrategy;
  /** PCT depth (default 3). */
  readonly depth?: number;
  /** The oracles that count (default all). */
  readonly oracles?: OracleSelection;
  /** Collect the coverage report (ops, op pairs on one page, sites reached). */
  readonly coverage?: boolean;
}

/**
 * The strategies explore runs: fuzz's, plus `mixed` (the default of racefarm explore): seeds
 * 0..⌈M/2⌉-1 at random and 0..⌊M/2⌋-1 under PCT. Neither alone finds what a hundred schedules per
 * program should: a uniformly random scheduler finishes a short device thread long before a
 * fault path opens its window (range-end-only's COW stale-read: 0 hits in 5,000 random schedules
 * of the 3-thread program, PCT depth 3 at seed 134), while PCT misses races random finds at once
 * (range-end-only's zap use-after-free: program 1 at random, program 142 under PCT). A finding
 * names the strategy it was found with, so repro needs nothing new.
 */
export type ExploreStrategy = StrategyName | 'mixed';
export const EXPLORE_STRATEGIES: readonly ExploreStrategy[] = ['mixed', 'random', 'pct', 'coverage'];

/**
 * A finding of a generated program: the finding (its scenario is the program), the program's seed,
 * and the listed kernel behaviour it matches as found (sim/known), or null.
 */
export interface ExploreFinding {
  readonly programSeed: number;
  readonly finding: Finding;
  readonly known: string | null;
}

/**
 * What makes an explore finding unique: its signature and its known-bug label. A signature names the
 * race by the labels of its participants, and two causes can share those (an end-of-run lost-write
 * names only `pte` and `still mapped`: program 50's stale APIC_ACCESS_ADDR and program 11024's KSM +
 * MADV_FREE discard had one signature), so a known finding must not hide an unexplained one.
 */
export function exploreKey(f: ExploreFinding): string {
  return `${f.finding.signature}|${f.known ?? ''}`;
}

function exploreFinding(programSeed: number, finding: Finding): ExploreFinding {
  return { programSeed, finding, known: knownBugOfFinding(finding) };
}

/** A program whose observable verdicts differ between the variant and --against. */
export interface Difference {
  readonly programSeed: number;
  /** Observable oracles that fired under the variant only / under --against only. */
  readonly onlyIn: readonly OracleName[];
  readonly onlyInAgainst: readonly OracleName[];
  /** The first finding of each side's extra oracles (lowest schedule seed), for shrinking and files. */
  readonly findings: readonly ExploreFinding[];
}

export interface ExploreBatch {
  programs: number;
  schedules: number;
  steps: number;
  /** Runs in which each oracle fired. */
  byOracle: Partial<Record<OracleName, number>>;
  /** Unique by signature and known-bug label (exploreKey), in program order (then schedule seed). */
  findings: ExploreFinding[];
  differences: Difference[];
  coverage: ProgramCoverage | null;
}

export function emptyExplore(coverage: boolean): ExploreBatch {
  return { programs: 0, schedules: 0, steps: 0, byOracle: {}, findings: [], differences: [], coverage: coverage ? emptyCoverage() : null };
}

function strategyFor(o: ExploreOptions, name: StrategyName, variant: Variant, sc: ReturnType<typeof validateProgram>): StrategySpec {
  // PCT's k is the program's no-preemption run length, as in fuzz; random and coverage ignore it.
  return { name, depth: o.depth ?? 3, kSteps: name === 'pct' ? estimateSteps(sc, variant.sites) : 0 };
}

/** M schedules of one program under a variant: one strategy, or mixed's random half then PCT half. */
function runSchedules(o: ExploreOptions, variant: Variant, sc: ReturnType<typeof validateProgram>, oracles: OracleSelection | undefined): BatchResult {
  if (o.strategy !== 'mixed') return runSeeds(sc, variant, strategyFor(o, o.strategy, variant, sc), 0, o.schedules, undefined, { oracles });
  const random = Math.ceil(o.schedules / 2);
  const out = runSeeds(sc, variant, strategyFor(o, 'random', variant, sc), 0, random, undefined, { oracles });
  if (o.schedules > random) mergeBatches(out, runSeeds(sc, variant, strategyFor(o, 'pct', variant, sc), 0, o.schedules - random, undefined, { oracles }));
  return out;
}

/**
 * The generated program for a seed (what explore runs): generated for the variant, or in
 * differential mode for whichever of the two variants stands for the older kernel (fewer IOMMU
 * kinds, era.ts), so the program is valid under both (no arm-smmu-v3 world when one side is v4.x).
 */
export function programFor(programSeed: number, o: Pick<ExploreOptions, 'variant' | 'against'>): ScenarioJson {
  const older = o.against !== undefined && iommuOptionsFor(o.against).length < iommuOptionsFor(o.variant).length ? o.against : o.variant;
  return generateProgram(programSeed, { variant: older });
}

/** Runs one program: M schedules under the variant (and under --against). */
export function exploreProgram(programSeed: number, o: ExploreOptions): ExploreBatch {
  const out = emptyExplore(o.coverage === true);
  const program = programFor(programSeed, o);
  const sc = validateProgram(program, o.variant);
  if (o.against !== undefined) validateProgram(program, o.against);
  out.programs = 1;
  const b = runSchedules(o, o.variant, sc, o.oracles);
  out.schedules += b.schedules;
  out.steps += b.steps;
  for (const [k, n] of Object.entries(b.byOracle)) out.byOracle[k as OracleName] = (out.byOracle[k as OracleName] ?? 0) + (n ?? 0);
  out.findings = b.findings.map((finding) => exploreFinding(programSeed, finding));
  if (o.against !== undefined) {
    const w = runSchedules(o, o.against, sc, OBSERVABLE_ORACLES);
    out.schedules += w.schedules;
    out.steps += w.steps;
    const observable = (fs: readonly Finding[]) => new Set(fs.filter((f) => oracleClass(f.oracle) === 'observable').map((f) => f.oracle));
    const mine = observable(b.findings);
    const theirs = observable(w.findings);
    const onlyIn = [...mine].filter((x) => !theirs.has(x)).sort();
    const onlyInAgainst = [...theirs].filter((x) => !mine.has(x)).sort();
    if (onlyIn.length > 0 || onlyInAgainst.length > 0) {
      const first = (fs: readonly Finding[], oracles: readonly OracleName[]) =>
        oracles.map((oracle) => fs.find((f) => f.oracle === oracle)!).map((finding) => exploreFinding(programSeed, finding));
      out.differences.push({ programSeed, onlyIn, onlyInAgainst, findings: [...first(b.findings, onlyIn), ...first(w.findings, onlyInAgainst)] });
    }
  }
  if (out.coverage !== null) mergeCoverage(out.coverage, programCoverage(sc, o.variant.sites));
  return out;
}

/** Merges `b` (later programs) into `into`: a finding already found (exploreKey) keeps its earlier program. */
export function mergeExplore(into: ExploreBatch, b: ExploreBatch): void {
  into.programs += b.programs;
  into.schedules += b.schedules;
  into.steps += b.steps;
  for (const [k, n] of Object.entries(b.byOracle)) into.byOracle[k as OracleName] = (into.byOracle[k as OracleName] ?? 0) + (n ?? 0);
  const seen = new Set(into.findings.map(exploreKey));
  for (const f of b.findings) {
    const key = exploreKey(f);
    if (seen.has(key)) continue;
    seen.add(key);
    into.findings.push(f);
  }
  into.differences.push(...b.differences);
  if (b.coverage !== null) {
    if (into.coverage === null) into.coverage = emptyCoverage();
    mergeCoverage(into.coverage, b.coverage);
  }
}

/**
 * Programs [programStart, programStart + count): each explored in turn and merged in program order.
 * `onProgress(done, batch)` after each program.
 */
export function explorePrograms(programStart: number, count: number, o: ExploreOptions, onProgress?: (done: number, b: ExploreBatch) => void): ExploreBatch {
  const out = emptyExplore(o.coverage === true);
  for (let i = 0; i < count; i++) {
    mergeExplore(out, exploreProgram(programStart + i, o));
    onProgress?.(i + 1, out);
  }
  return out;
}
