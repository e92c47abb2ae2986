import { mkdirSync } from 'node:fs';
import cliProgress from 'cli-progress';
import { estimateSteps, type StrategyName, type StrategySpec } from '../sim/schedule/strategy.ts';
import { depthText } from '../sim/schedule/pct.ts';
import { isRace, type BatchResult } from '../sim/fuzz.ts';
import type { Finding } from '../sim/finding.ts';
import { shrinkFinding } from '../sim/shrink/shrink.ts';
import { loadScenario, loadVariant } from './inputs.ts';
import { CHUNK_SEEDS, runLocalCampaign, type CampaignProgress } from './campaign.ts';
import { UsageError } from './errors.ts';
import { fmtInt } from './format.ts';
import {
  ALL_ORACLES,
  OracleSelectionError,
  classRank,
  oracleClass,
  parseOracleSelection,
  selectionText,
  type OracleClass,
  type OracleSelection,
} from '../sim/oracles/classes.ts';
import { Eta } from './eta.ts';
import { writeFindingFile } from './findingFile.ts';
import { findingsLines, oraclesLine, runLines } from './summaryFormat.ts';
import type { ShrinkStats } from '../sim/shrink/shrink.ts';

/** `--oracles`: parsed, or a usage error (exit 2) naming the entry that is not an oracle. */
export function oraclesOption(text: string | undefined): OracleSelection {
  if (text === undefined) return ALL_ORACLES;
  try {
    return parseOracleSelection(text);
  } catch (e) {
    if (e instanceof OracleSelectionError) throw new UsageError(`--oracles: ${e.message}`);
    throw e;
  }
}

export interface FuzzOptions {
  readonly scenario: string;
  readonly variant?: string;
  readonly strategy: string;
  /** PCT depth; 0 = auto (sim/schedule/pct.ts PCT_AUTO_DEPTH). */
  readonly depth: number;
  readonly seeds: number;
  readonly seedStart: number;
  readonly workers: number;
  readonly out: string;
  readonly json: boolean;
  readonly preemptions: number;
  readonly maxSchedules: number;
  readonly reduction: boolean;
  /** `observable` | `all` | comma-separated oracle names (sim/oracles/classes.ts); default all. */
  readonly oracles?: string;
  /** Collect coverage features (always on for `--strategy coverage`, which steers by them). */
  readonly coverage?: boolean;
}

/**
 * The per-seed strategies `racefarm fuzz` runs in its worker pool. With `coverage`, each seed
 * chunk (2,000 seeds) grows its own corpus from scratch: chunks stay independent, so the outcome
 * does not depend on --workers; corpora are not pooled across chunks (the farm does the same per job).
 * `exhaustive` is a search, not per-seed: it runs in this thread (cli/exhaustive.ts).
 */
const CLI_STRATEGIES = ['random', 'pct', 'coverage'] as const satisfies readonly StrategyName[];
/** Strategies that the CLI knows but does not run yet. */
const PLANNED_STRATEGIES: string[] = [];
const ALL = [...CLI_STRATEGIES, 'exhaustive'];

function parseStrategy(name: string): StrategyName | 'exhaustive' {
  if ((CLI_STRATEGIES as readonly string[]).includes(name)) return name as StrategyName;
  if (name === 'exhaustive') return 'exhaustive';
  if (PLANNED_STRATEGIES.includes(name)) {
    throw new UsageError(`--strategy: "${name}" is not implemented yet (implemented: ${ALL.join(', ')})`);
  }
  throw new UsageError(`--strategy: unknown strategy "${name}" (implemented: ${ALL.join(', ')})`);
}

export interface FuzzSummary {
  readonly schedules: number;
  readonly steps: number;
  /** Distinct coverage features, or null when the campaign did not collect them (no --coverage). */
  readonly coverage: number | null;
  readonly findings: { oracle: string; class: OracleClass; signature: string; seed: number; file: string }[];
  readonly elapsedMs: number;
}

/** `racefarm fuzz`: a local campaign in worker threads, no Redis (README.md, `fuzz`). */
export async function fuzzCommand(o: FuzzOptions): Promise<number> {
  const strategyName = parseStrategy(o.strategy);
  const oracles = oraclesOption(o.oracles);
  if (strategyName === 'exhaustive') {
    const { exhaustiveCommand } = await import('./exhaustive.ts');
    return exhaustiveCommand({ ...o, oracles });
  }
  if (o.seedStart + o.seeds > Number.MAX_SAFE_INTEGER) {
    throw new UsageError(`--seed-start + --seeds must not exceed ${Number.MAX_SAFE_INTEGER}`);
  }
  const sc = loadScenario(o.scenario);
  const variant = loadVariant(o.variant, sc);
  try {
    mkdirSync(o.out, { recursive: true });
  } catch (e) {
    throw new UsageError(`--out: cannot create directory ${o.out}: ${(e as Error).message}`);
  }
  // PCT draws its change points over k steps: the length of the run without preemption, computed
  // once per campaign so every chunk (and every finding) carries the same strategy.
  const strategy: StrategySpec = { name: strategyName, depth: o.depth, kSteps: estimateSteps(sc, variant.sites) };

  const showBar = !o.json && process.stderr.isTTY === true;
  const bar = showBar
    ? new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: '{bar} {percentage}% | {value}/{total} seeds | findings: {findings} | ETA {eta}',
          hideCursor: true,
          clearOnComplete: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : null;
  if (!o.json) {
    process.stderr.write(
      `racefarm fuzz: ${sc.name} under ${variant.name}, ${strategyName}${strategyName === 'pct' ? ` depth ${depthText(o.depth)}` : ''}, ` +
        `seeds [${o.seedStart}, ${o.seedStart + o.seeds}), ${Math.min(o.workers, Math.ceil(o.seeds / CHUNK_SEEDS))} worker(s)` +
        `${oracles === ALL_ORACLES ? '' : `, oracles ${selectionText(oracles)}`}\n`,
    );
  }
  const eta = new Eta(o.seeds);
  let last: CampaignProgress = { done: 0, findings: 0 };
  bar?.start(o.seeds, 0, { findings: 0, eta: 'estimating' });
  // The ETA also counts down between progress reports.
  const tick = bar ? setInterval(() => bar.update(last.done, { findings: last.findings, eta: eta.update(last.done, performance.now()) }), 1000) : null;
  // Ctrl-C during the bar: restore the cursor, then exit as a SIGINT would (worker threads end with us).
  const onSigint = (): void => {
    bar?.stop();
    process.exit(130);
  };
  if (bar) process.once('SIGINT', onSigint);
  // Coverage costs a feature lookup per step: collected only when asked, or when the strategy steers by it.
  const coverage = o.coverage === true || strategyName === 'coverage';
  const t0 = performance.now();
  let result: BatchResult;
  try {
    result = await runLocalCampaign(
      { scenario: sc.source, variant, strategy, seedStart: o.seedStart, seeds: o.seeds, workers: o.workers, coverage, oracles: [...oracles] },
      bar
        ? (p: CampaignProgress) => {
            last = p;
            bar.update(p.done, { findings: p.findings, eta: eta.update(p.done, performance.now()) });
          }
        : undefined,
    );
  } finally {
    if (tick !== null) clearInterval(tick);
    bar?.stop();
    process.removeListener('SIGINT', onSigint);
  }
  const elapsedMs = performance.now() - t0;

  // Each new signature is shrunk before it is written (README.md, `fuzz`): the file holds the smallest
  // interleaving that still fires the same oracle with the same signature.
  // Observable findings first (then invariant, then limits), in campaign order within a class.
  const ordered = [...result.findings].sort((a, b) => classRank(oracleClass(a.oracle)) - classRank(oracleClass(b.oracle)));
  const shrunk = ordered.map((f) => shrinkForFile(f));
  const written = shrunk.map(({ finding: f, stats }) => ({ f, stats, file: writeFindingFile(o.out, f) }));
  const summary: FuzzSummary = {
    schedules: result.schedules,
    steps: result.steps,
    // Distinct coverage features (sim/coverage/features.ts) reached by the campaign, merged over its chunks.
    coverage: result.coverage?.length ?? null,
    findings: written.map(({ f, file }) => ({ oracle: f.oracle, class: oracleClass(f.oracle), signature: f.signature, seed: f.seed, file })),
    elapsedMs: Math.round(elapsedMs),
  };
  if (o.json) process.stdout.write(JSON.stringify(summary) + '\n');
  else process.stdout.write(humanSummary(result, summary, written));
  return 0;
}

function shrinkForFile(f: Finding): { finding: Finding; stats: ShrinkStats | null } {
  if (!isRace(f.oracle)) return { finding: f, stats: null };
  try {
    return shrinkFinding(f, { maxRuns: 4000 });
  } catch {
    return { finding: f, stats: null }; // it did not replay by itself (cannot happen for a deterministic run): keep the raw one
  }
}

/** `48 → 18`, or the one value when shrinking did not run. */
function beforeAfter(stats: ShrinkStats | null, before: keyof ShrinkStats, after: keyof ShrinkStats, raw: number): string {
  return stats === null ? String(raw) : `${String(stats[before])} → ${String(stats[after])}`;
}

function humanSummary(r: BatchResult, s: FuzzSummary, written: readonly { f: Finding; stats: ShrinkStats | null }[]): string {
  const secs = s.elapsedMs / 1000;
  const lines = [...runLines(s.schedules, s.steps, s.elapsedMs), `steps/s    ${fmtInt(secs > 0 ? s.steps / secs : 0)}`];
  lines.push(`coverage   ${s.coverage === null ? 'not collected (--coverage)' : `${fmtInt(s.coverage)} features`}`);
  lines.push(oraclesLine(r.byOracle));
  const notRaces = written.filter((w) => !isRace(w.f.oracle)).length;
  lines.push(
    ...findingsLines(
      s.findings,
      notRaces > 0 ? ` (${notRaces} not a race)` : '',
      ['class', 'oracle', 'signature', 'seed', 'steps (shrunk)', 'threads (shrunk)', 'file'],
      s.findings.map((f, i) => {
        const { stats, f: finding } = written[i];
        return [
          f.class,
          f.oracle,
          f.signature,
          String(f.seed),
          beforeAfter(stats, 'stepsBefore', 'stepsAfter', finding.steps),
          beforeAfter(stats, 'threadsBefore', 'threadsAfter', finding.scenario.threads.length),
          f.file,
        ];
      }),
    ),
  );
  return lines.join('\n') + '\n';
}
