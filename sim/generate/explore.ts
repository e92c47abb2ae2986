import { runSeeds } from '../fuzz.ts';
import type { Finding } from '../finding.ts';
import type { Variant } from '../variants/presets.ts';
import { estimateSteps, type StrategyName, type StrategySpec } from '../schedule/strategy.ts';
import { OBSERVABLE_ORACLES, oracleClass, type OracleSelection } from '../oracles/classes.ts';
import type { OracleName } from '../oracles/violation.ts';
import type { ScenarioJson } from '../scenario/compiled.ts';
import { generateProgram } from './generation.ts';
import { validateProgram } from './validation.ts';
import { emptyCoverage, mergeCoverage, programCoverage, type ProgramCoverage } from './coverage.ts';

/**
 * The explore loop (racefarm explore): for program i of a range, generate it, validate it, run M
 * schedules of a strategy, and collect each unique finding (one per signature, from the lowest program
 * and then the lowest schedule seed). Pure: the result depends only on the arguments, so a range can
 * be split into pieces anywhere (worker threads, farm jobs) and merged in program order.
 */
export interface ExploreOptions {
  readonly variant: Variant;
  /** Differential mode: also run every program under this variant and report programs whose observable verdicts differ. */
  readonly against?: Variant;
  /** Schedules per program (seeds 0..M-1). */
  readonly schedules: number;
  readonly strategy: StrategyName;
  /** PCT depth (default 3). */
  readonly depth?: number;
  /** The oracles that count (default all). */
  readonly oracles?: OracleSelection;
  /** Collect the coverage report (ops, op pairs on one page, sites reached). */
  readonly coverage?: boolean;
}

/** A finding of a generated program: the finding (its scenario is the program) and the program's seed. */
export interface ExploreFinding {
  readonly programSeed: number;
  readonly finding: Finding;
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
  /** Unique by signature, in program order (then schedule seed). */
  findings: ExploreFinding[];
  differences: Difference[];
  coverage: ProgramCoverage | null;
}

export function emptyExplore(coverage: boolean): ExploreBatch {
  return { programs: 0, schedules: 0, steps: 0, byOracle: {}, findings: [], differences: [], coverage: coverage ? emptyCoverage() : null };
}

function strategyFor(o: ExploreOptions, variant: Variant, sc: ReturnType<typeof validateProgram>): StrategySpec {
  // PCT's k is the program's no-preemption run length, as in fuzz; random and coverage ignore it.
  return { name: o.strategy, depth: o.depth ?? 3, kSteps: o.strategy === 'pct' ? estimateSteps(sc, variant.sites) : 0 };
}

/** The generated program for a seed under the options' variant (what explore runs). */
export function programFor(programSeed: number, o: Pick<ExploreOptions, 'variant' | 'against'>): ScenarioJson {
  return generateProgram(programSeed, { variant: o.variant });
}

/** Runs one program: M schedules under the variant (and under --against). */
export function exploreProgram(programSeed: number, o: ExploreOptions): ExploreBatch {
  const out = emptyExplore(o.coverage === true);
  const program = programFor(programSeed, o);
  const sc = validateProgram(program, o.variant);
  if (o.against !== undefined) validateProgram(program, o.against);
  out.programs = 1;
  const b = runSeeds(sc, o.variant, strategyFor(o, o.variant, sc), 0, o.schedules, undefined, { oracles: o.oracles });
  out.schedules += b.schedules;
  out.steps += b.steps;
  for (const [k, n] of Object.entries(b.byOracle)) out.byOracle[k as OracleName] = (out.byOracle[k as OracleName] ?? 0) + (n ?? 0);
  out.findings = b.findings.map((finding) => ({ programSeed, finding }));
  if (o.against !== undefined) {
    const w = runSeeds(sc, o.against, strategyFor(o, o.against, sc), 0, o.schedules, undefined, { oracles: OBSERVABLE_ORACLES });
    out.schedules += w.schedules;
    out.steps += w.steps;
    const observable = (fs: readonly Finding[]) => new Set(fs.filter((f) => oracleClass(f.oracle) === 'observable').map((f) => f.oracle));
    const mine = observable(b.findings);
    const theirs = observable(w.findings);
    const onlyIn = [...mine].filter((x) => !theirs.has(x)).sort();
    const onlyInAgainst = [...theirs].filter((x) => !mine.has(x)).sort();
    if (onlyIn.length > 0 || onlyInAgainst.length > 0) {
      const first = (fs: readonly Finding[], oracles: readonly OracleName[]) =>
        oracles.map((oracle) => fs.find((f) => f.oracle === oracle)!).map((finding) => ({ programSeed, finding }));
      out.differences.push({ programSeed, onlyIn, onlyInAgainst, findings: [...first(b.findings, onlyIn), ...first(w.findings, onlyInAgainst)] });
    }
  }
  if (out.coverage !== null) mergeCoverage(out.coverage, programCoverage(sc, o.variant.sites));
  return out;
}

/** Merges `b` (later programs) into `into`: a signature already found keeps its earlier program. */
export function mergeExplore(into: ExploreBatch, b: ExploreBatch): void {
  into.programs += b.programs;
  into.schedules += b.schedules;
  into.steps += b.steps;
  for (const [k, n] of Object.entries(b.byOracle)) into.byOracle[k as OracleName] = (into.byOracle[k as OracleName] ?? 0) + (n ?? 0);
  const seen = new Set(into.findings.map((f) => f.finding.signature));
  for (const f of b.findings) {
    if (seen.has(f.finding.signature)) continue;
    seen.add(f.finding.signature);
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
