import { Simulator } from './run.ts';
import type { CompiledScenario } from './scenario/compiled.ts';
import type { Variant } from './variants/presets.ts';
import { makeChooser, seedStrategy, threadCount, type StrategySpec } from './schedule/strategy.ts';
import { FINDING_FORMAT, violationSignature, type Finding } from './finding.ts';
import { SIM_VERSION } from './version.ts';
import { NOT_A_RACE, type OracleName } from './oracles/violation.ts';
import { oracleClass, type OracleSelection } from './oracles/classes.ts';
import { CoverageObserver, featureId } from './coverage/features.ts';
import { CoverageChooser, addToCorpus, emptyCorpus, type Corpus } from './schedule/coverage.ts';

export interface BatchResult {
  schedules: number;
  steps: number;
  /** Runs in which each oracle fired. */
  byOracle: Partial<Record<OracleName, number>>;
  /** One finding per signature: the lowest seed that produced it in this batch. */
  findings: Finding[];
  /** Ids (featureId) of the coverage features reached, sorted; present when coverage was collected. */
  coverage?: string[];
}

export interface RunSeedsOptions {
  /** Collect coverage features (sim/coverage/features.ts); always on for the coverage strategy. */
  readonly coverage?: boolean;
  /** The coverage strategy's corpus, updated in place; a fresh one for this batch when absent. */
  readonly corpus?: Corpus;
  /** Features already reached (readable form), updated in place: "new coverage" is relative to them. */
  readonly features?: Set<string>;
  /** The oracles that count (RunOptions.oracles); default all. */
  readonly oracles?: OracleSelection;
}

export function emptyBatch(): BatchResult {
  return { schedules: 0, steps: 0, byOracle: {}, findings: [] };
}

/**
 * Runs seeds [seedStart, seedStart + count) of a strategy. Pure and deterministic: the same
 * arguments give the same result in any process, which is what lets the farm split a campaign
 * into seed ranges and any worker run any range.
 */
export function runSeeds(
  sc: CompiledScenario,
  variant: Variant,
  strategy: StrategySpec,
  seedStart: number,
  count: number,
  onProgress?: (done: number, batch: BatchResult) => void,
  opts: RunSeedsOptions = {},
): BatchResult {
  const out = emptyBatch();
  const seen = new Set<string>();
  // Hashing is the costliest part of recording a violation; a batch sees few distinct ones.
  const signatures = new Map<string, string>();
  const threads = threadCount(sc);
  const corpus = strategy.name === 'coverage' ? (opts.corpus ?? emptyCorpus()) : null;
  const observer = corpus !== null || opts.coverage === true ? new CoverageObserver(opts.features ?? new Set()) : null;
  const runOpts = observer !== null || opts.oracles !== undefined ? { observer: observer ?? undefined, oracles: opts.oracles } : undefined;
  // One World for the batch, reset between runs instead of built per run (sim/worldSnapshot.ts).
  const sim = new Simulator(sc, variant.sites);
  for (let i = 0; i < count; i++) {
    const seed = seedStart + i;
    const chooser = corpus !== null ? new CoverageChooser(seed, corpus) : makeChooser(strategy, seed, threads);
    const r = sim.run(chooser, runOpts);
    if (observer !== null) {
      const gain = observer.takeAdded();
      if (corpus !== null && gain > 0) addToCorpus(corpus, { decisions: r.decisions, defaults: (chooser as CoverageChooser).defaults, gain });
    }
    out.schedules++;
    out.steps += r.steps;
    for (const v of r.violations) {
      out.byOracle[v.oracle] = (out.byOracle[v.oracle] ?? 0) + 1;
      const key = `${v.oracle}\u0000${v.participants.join('\u0001')}`;
      let signature = signatures.get(key);
      if (signature === undefined) {
        signature = violationSignature(v, variant.name, variant.sites);
        signatures.set(key, signature);
      }
      if (seen.has(signature)) continue;
      seen.add(signature);
      out.findings.push({
        format: FINDING_FORMAT,
        simVersion: SIM_VERSION,
        scenario: sc.source,
        variant: { name: variant.name, sites: variant.sites },
        // Under --depth auto, the depth this seed ran at: the file names its schedule on its own.
        strategy: seedStrategy(strategy, seed),
        seed,
        decisions: r.decisions,
        oracle: v.oracle,
        class: oracleClass(v.oracle),
        message: v.message,
        step: v.step,
        steps: r.steps,
        signature,
        participants: v.participants,
        threads: r.threadNames,
      });
    }
    if (onProgress && (i & 255) === 255) onProgress(i + 1, out);
  }
  if (observer !== null) out.coverage = [...new Set([...observer.features].map(featureId))].sort();
  return out;
}

/** Merges batch results, keeping per signature the finding with the lowest seed. */
export function mergeBatches(into: BatchResult, b: BatchResult): void {
  into.schedules += b.schedules;
  into.steps += b.steps;
  for (const [k, n] of Object.entries(b.byOracle)) {
    const o = k as OracleName;
    into.byOracle[o] = (into.byOracle[o] ?? 0) + (n ?? 0);
  }
  if (b.coverage !== undefined) {
    into.coverage = into.coverage === undefined ? [...b.coverage] : [...new Set([...into.coverage, ...b.coverage])].sort();
  }
  for (const f of b.findings) {
    const i = into.findings.findIndex((x) => x.signature === f.signature);
    if (i < 0) into.findings.push(f);
    else if (f.seed < into.findings[i].seed) into.findings[i] = f;
  }
  into.findings.sort((a, b) => a.seed - b.seed);
}

export function isRace(o: OracleName): boolean {
  return !NOT_A_RACE.has(o);
}
