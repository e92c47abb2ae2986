import { mkdirSync, statSync } from 'node:fs';
import cliProgress from 'cli-progress';
import type { Finding } from '../sim/finding.ts';
import { isRace } from '../sim/fuzz.ts';
import { minimizeFinding, type ProgramShrinkStats } from '../sim/generate/minimization.ts';
import { EXPLORE_STRATEGIES, exploreKey, type ExploreBatch, type ExploreFinding, type ExploreStrategy } from '../sim/generate/explore.ts';
import { catalogCoverage, coverageUniverse, type ProgramCoverage } from '../sim/generate/coverage.ts';
import { knownBugOfFinding } from '../sim/known/knownBugs.ts';
import { classRank, oracleClass, selectionText, type OracleClass } from '../sim/oracles/classes.ts';
import { PRESETS, presetNames, type Variant } from '../sim/variants/presets.ts';
import { InputError } from '../sim/scenario/errors.ts';
import { oraclesOption } from './fuzz.ts';
import { UsageError } from './errors.ts';
import { Eta } from './eta.ts';
import { writeFindingFile } from './findingFile.ts';
import { variantFileName } from './variantFileName.ts';
import { fmtInt, table } from './format.ts';
import { findingsLines, oraclesLine, runLines } from './summaryFormat.ts';
import { runExplore } from './explorePool.ts';
import type { ExploreInit } from './exploreProtocol.ts';
import { parseVariantJson } from '../sim/variants/resolve.ts';
import { readJsonFile } from './inputs.ts';

export interface ExploreCliOptions {
  readonly variant: string;
  readonly against?: string;
  readonly programs: number;
  readonly seed: number;
  readonly schedules: number;
  readonly strategy: string;
  readonly depth: number;
  readonly oracles: string;
  readonly workers: number;
  readonly out: string;
  readonly json: boolean;
  readonly coverage: boolean;
  /** Skip shrinking (findings are written as found). */
  readonly shrink: boolean;
}

export interface ExploreSummaryFinding {
  oracle: string;
  class: OracleClass;
  signature: string;
  programSeed: number;
  seed: number;
  file: string;
  known: string | null;
}

/** `--variant`/`--against`: a preset or a variant file (no scenario default: programs are generated). */
function variantArg(flag: string, arg: string): Variant {
  const preset = PRESETS.get(arg);
  if (preset) return preset;
  let file = false;
  try {
    file = statSync(arg).isFile();
  } catch {
    file = false;
  }
  if (!file) throw new InputError('unknown variant', [`${flag}: "${arg}" is neither a preset (${presetNames().join(', ')}) nor a file`]);
  return parseVariantJson(readJsonFile(arg, 'variant'), variantFileName(arg));
}

function strategyArg(name: string): ExploreStrategy {
  if ((EXPLORE_STRATEGIES as readonly string[]).includes(name)) return name as ExploreStrategy;
  throw new UsageError(`--strategy: unknown strategy "${name}" (explore runs: ${EXPLORE_STRATEGIES.join(', ')})`);
}

/** A finding file: the sim finding (its scenario is the shrunk program) plus the program's seed and the known-bug label. */
function writeFinding(dir: string, f: Finding, programSeed: number, known: string | null): string {
  return writeFindingFile(dir, f, { ...f, programSeed, known });
}

function shrink(f: Finding, enabled: boolean): { finding: Finding; stats: ProgramShrinkStats | null } {
  if (!enabled || !isRace(f.oracle)) return { finding: f, stats: null };
  try {
    return minimizeFinding(f);
  } catch {
    return { finding: f, stats: null }; // did not replay by itself: keep the raw one (cannot happen for a deterministic run)
  }
}

/** `racefarm explore`: generated programs, M schedules each, unique findings shrunk and written (README.md, `explore`). */
export async function exploreCommand(o: ExploreCliOptions): Promise<number> {
  const variant = variantArg('--variant', o.variant);
  const against = o.against === undefined ? undefined : variantArg('--against', o.against);
  const strategy = strategyArg(o.strategy);
  const oracles = oraclesOption(o.oracles);
  if (o.seed + o.programs > Number.MAX_SAFE_INTEGER) throw new UsageError(`--seed + --programs must not exceed ${Number.MAX_SAFE_INTEGER}`);
  try {
    mkdirSync(o.out, { recursive: true });
  } catch (e) {
    throw new UsageError(`--out: cannot create directory ${o.out}: ${(e as Error).message}`);
  }
  const init: ExploreInit = { variant, against, schedules: o.schedules, strategy, depth: o.depth, oracles: [...oracles], coverage: o.coverage };

  const showBar = !o.json && process.stderr.isTTY === true;
  const bar = showBar
    ? new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: '{bar} {percentage}% | {value}/{total} programs | findings: {findings} | ETA {eta}',
          hideCursor: true,
          clearOnComplete: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : null;
  if (!o.json) {
    process.stderr.write(
      `racefarm explore: programs [${o.seed}, ${o.seed + o.programs}) under ${variant.name}${against ? ` against ${against.name}` : ''}, ` +
        `${o.schedules} ${strategy} schedules each, oracles ${selectionText(oracles)}, ${o.workers} worker(s)\n`,
    );
  }
  const eta = new Eta(o.programs);
  let last = { done: 0, findings: 0 };
  bar?.start(o.programs, 0, { findings: 0, eta: 'estimating' });
  const tick = bar ? setInterval(() => bar.update(last.done, { findings: last.findings, eta: eta.update(last.done, performance.now()) }), 1000) : null;
  const onSigint = (): void => {
    bar?.stop();
    process.exit(130);
  };
  if (bar) process.once('SIGINT', onSigint);
  const t0 = performance.now();
  let result: ExploreBatch;
  try {
    result = await runExplore(init, o.seed, o.programs, o.workers, (done, findings) => {
      last = { done, findings };
      bar?.update(done, { findings, eta: eta.update(done, performance.now()) });
    });
  } finally {
    if (tick !== null) clearInterval(tick);
    bar?.stop();
    process.removeListener('SIGINT', onSigint);
  }

  // Shrink and write each unique finding (program first, then schedule), observable first.
  const ordered = [...result.findings].sort((a, b) => classRank(oracleClass(a.finding.oracle)) - classRank(oracleClass(b.finding.oracle)));
  const written = new Map<string, ExploreSummaryFinding & { stats: ProgramShrinkStats | null }>();
  const emit = (ef: ExploreFinding): ExploreSummaryFinding & { stats: ProgramShrinkStats | null } => {
    const got = written.get(exploreKey(ef));
    if (got !== undefined) return got;
    const { finding, stats } = shrink(ef.finding, o.shrink);
    const known = knownBugOfFinding(finding);
    const file = writeFinding(o.out, finding, ef.programSeed, known);
    const row = { oracle: finding.oracle, class: oracleClass(finding.oracle), signature: finding.signature, programSeed: ef.programSeed, seed: finding.seed, file, known, stats };
    written.set(exploreKey(ef), row);
    return row;
  };
  const findings = ordered.map(emit);
  const differences = result.differences.map((d) => ({
    programSeed: d.programSeed,
    onlyIn: d.onlyIn,
    onlyInAgainst: d.onlyInAgainst,
    files: d.findings.map((f) => emit(f).file),
  }));
  const elapsedMs = Math.round(performance.now() - t0);
  const strip = ({ stats: _s, ...rest }: ExploreSummaryFinding & { stats: unknown }): ExploreSummaryFinding => rest;
  const summary: Record<string, unknown> = {
    programs: result.programs,
    schedules: result.schedules,
    steps: result.steps,
    findings: findings.map(strip),
    elapsedMs,
  };
  if (against !== undefined) summary.differences = differences;
  if (result.coverage !== null) summary.coverage = coverageSummary(result.coverage, variant);
  if (o.json) process.stdout.write(JSON.stringify(summary) + '\n');
  else process.stdout.write(humanSummary(result, findings, differences, elapsedMs, variant, against));
  return 0;
}

/** The coverage report: what N programs reached vs what the catalog reaches, per item kind. */
export function coverageSummary(c: ProgramCoverage, variant: Variant) {
  const cat = catalogCoverage(variant.sites);
  const all = coverageUniverse();
  const keys = (r: Record<string, number>) => Object.keys(r).sort();
  const missing = (universe: readonly string[], r: Record<string, number>) => universe.filter((k) => !(k in r));
  return {
    programs: c.programs,
    ops: { reached: keys(c.ops).length, of: all.ops.length, catalog: keys(cat.ops).length, missing: missing(all.ops, c.ops) },
    pairs: {
      reached: keys(c.pairs).length,
      catalog: keys(cat.pairs).length,
      catalogOnly: keys(cat.pairs).filter((k) => !(k in c.pairs)),
    },
    sites: { reached: keys(c.sites).length, of: all.sites.length, catalog: keys(cat.sites).length, missing: missing(all.sites, c.sites) },
    byProgram: { ops: c.ops, sites: c.sites },
  };
}

function humanSummary(
  r: ExploreBatch,
  findings: readonly (ExploreSummaryFinding & { stats: ProgramShrinkStats | null })[],
  differences: readonly { programSeed: number; onlyIn: readonly string[]; onlyInAgainst: readonly string[]; files: string[] }[],
  elapsedMs: number,
  variant: Variant,
  against: Variant | undefined,
): string {
  const secs = elapsedMs / 1000;
  const lines = [`programs   ${fmtInt(r.programs)} (${(secs > 0 ? r.programs / secs : 0).toFixed(1)}/s)`, ...runLines(r.schedules, r.steps, elapsedMs)];
  lines.push(oraclesLine(r.byOracle));
  if (r.coverage !== null) {
    const c = coverageSummary(r.coverage, variant);
    lines.push(
      `coverage   ops ${c.ops.reached}/${c.ops.of} (catalog ${c.ops.catalog}), op pairs on one page ${c.pairs.reached} (catalog ${c.pairs.catalog}), sites ${c.sites.reached}/${c.sites.of} (catalog ${c.sites.catalog})`,
    );
    if (c.ops.missing.length > 0) lines.push(`           ops not reached: ${c.ops.missing.join(', ')}`);
    if (c.sites.missing.length > 0) lines.push(`           sites not reached: ${c.sites.missing.join(', ')}`);
  }
  lines.push(
    ...findingsLines(
      findings,
      `, ${findings.filter((f) => f.known !== null).length} known kernel bug(s)`,
      ['class', 'oracle', 'known', 'program', 'seed', 'threads/ops (shrunk)', 'file'],
      findings.map((f) => [
        f.class,
        f.oracle,
        f.known ?? '-',
        String(f.programSeed),
        String(f.seed),
        f.stats === null ? '-' : `${f.stats.threadsBefore}/${f.stats.opsBefore} → ${f.stats.threadsAfter}/${f.stats.opsAfter}`,
        f.file,
      ]),
    ),
  );
  if (against !== undefined) {
    lines.push('', `${differences.length} program(s) whose observable verdicts differ between ${variant.name} and ${against.name}:`);
    if (differences.length > 0) {
      lines.push(
        table(
          ['program', `only under ${variant.name}`, `only under ${against.name}`, 'files'],
          differences.slice(0, 50).map((d) => [String(d.programSeed), d.onlyIn.join(', ') || '-', d.onlyInAgainst.join(', ') || '-', d.files.join(' ')]),
        ),
      );
      if (differences.length > 50) lines.push(`(${differences.length - 50} more; --json lists all)`);
    }
  }
  return lines.join('\n') + '\n';
}
