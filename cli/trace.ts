import { writeFileSync } from 'node:fs';
import { runOnce } from '../sim/run.ts';
import { estimateSteps, makeChooser, seedStrategy, threadCount, type StrategyName, type StrategySpec } from '../sim/schedule/strategy.ts';
import { StateRecorder } from '../sim/trace/state.ts';
import { renderHtml } from '../sim/trace/html.ts';
import { renderTable } from '../sim/trace/table.ts';
import { loadScenario, loadVariant } from './inputs.ts';
import { EXIT, UsageError } from './errors.ts';

export interface TraceOptions {
  readonly scenario: string;
  readonly variant?: string;
  readonly strategy: string;
  readonly depth: number;
  readonly seed: number;
  readonly html?: string;
  readonly json: boolean;
}

/** Strategies whose schedule is a function of the seed alone (coverage's also depends on its chunk's corpus). */
const SEED_STRATEGIES = ['random', 'pct'] as const satisfies readonly StrategyName[];

/**
 * `racefarm trace`: runs one seed with tracing on and prints its trace table and every oracle that
 * fired — also when none did ("did reclaim even run?"). The run is the one `fuzz` runs for that
 * seed with the same scenario, variant and strategy (runSeeds builds the same chooser).
 */
export function traceCommand(o: TraceOptions): number {
  if (!(SEED_STRATEGIES as readonly string[]).includes(o.strategy)) {
    const why =
      o.strategy === 'coverage'
        ? 'a coverage schedule depends on the corpus its chunk grew before that seed; replay a finding file with "repro" instead'
        : o.strategy === 'exhaustive'
          ? 'the exhaustive search has no seeds; replay the finding file it wrote with "repro" instead'
          : `unknown strategy`;
    throw new UsageError(`--strategy: "${o.strategy}": ${why} (trace takes: ${SEED_STRATEGIES.join(', ')})`);
  }
  const sc = loadScenario(o.scenario);
  const variant = loadVariant(o.variant, sc);
  // Under --depth auto, the depth this seed runs at (what fuzz records in a finding).
  const spec: StrategySpec = seedStrategy({ name: o.strategy as StrategyName, depth: o.depth, kSteps: estimateSteps(sc, variant.sites) }, o.seed);
  const rec = new StateRecorder();
  const run = runOnce(sc, variant.sites, makeChooser(spec, o.seed, threadCount(sc)), { trace: true, observer: o.html !== undefined ? rec : undefined });
  if (o.html !== undefined) {
    try {
      writeFileSync(o.html, renderHtml(run, null, { states: rec.states }));
    } catch (e) {
      throw new UsageError(`--html: cannot write ${o.html}: ${(e as Error).message}`);
    }
    if (!o.json) process.stderr.write(`racefarm trace: wrote ${o.html}\n`);
  }
  if (o.json) {
    process.stdout.write(
      JSON.stringify({
        scenario: sc.name,
        variant: variant.name,
        strategy: spec,
        seed: o.seed,
        steps: run.steps,
        decisions: run.decisions,
        violations: run.violations,
        threads: run.threadNames,
        trace: run.trace ?? [],
      }) + '\n',
    );
    return EXIT.ok;
  }
  const lines = [
    `scenario   ${sc.name}`,
    `variant    ${variant.name}`,
    `strategy   ${spec.name}${spec.name === 'pct' ? ` depth ${spec.depth}` : ''}, seed ${o.seed}, ${run.decisions.length} decisions`,
    '',
    renderTable(run.trace ?? [], run.threadNames, run.violations, { hideIdle: true }),
    '',
    run.violations.length === 0
      ? `no violation in ${run.steps} steps`
      : run.violations.map((v) => `${v.oracle} at step ${v.step} of ${run.steps}: ${v.message}`).join('\n'),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  return EXIT.ok;
}
