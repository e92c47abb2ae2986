import { mkdirSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { exhaustiveFindings, exhaustiveSearch, type ExhaustiveResult, type SearchProgress } from '../sim/schedule/exhaustive.ts';
import { loadScenario, loadVariant } from './inputs.ts';
import { UsageError } from './errors.ts';
import { fmtInt } from './format.ts';
import { writeFindingFile } from './findingFile.ts';
import { commandPrefix } from './invocation.ts';
import { ALL_ORACLES, classRank, oracleClass, type OracleSelection } from '../sim/oracles/classes.ts';
import type { OracleName } from '../sim/oracles/violation.ts';
import { isRace } from '../sim/fuzz.ts';

export interface ExhaustiveCliOptions {
  readonly scenario: string;
  readonly variant?: string;
  /** Preemption bound; Infinity for --preemptions unbounded. */
  readonly preemptions: number;
  readonly maxSchedules: number;
  readonly maxStates?: number;
  readonly maxSeconds?: number;
  readonly allVerdicts?: boolean;
  /**
   * true: the stateful search; false: the stateless DFS; absent: stateful only for an unbounded
   * search (measured: on bounded K the stateless DFS with sleep sets is faster today — the
   * stateful search replays every path and records each new step's reads through Proxies).
   */
  readonly stateful?: boolean;
  readonly reduction: boolean;
  readonly out: string;
  readonly json: boolean;
  /** The oracles that count (default all): the search stops only at one of them, and only they are findings. */
  readonly oracles?: OracleSelection;
}

/** How often the search hands the event loop a turn (SIGINT, the progress line, the clock). */
const SLICE = 64;

/**
 * `racefarm fuzz --strategy exhaustive`: every schedule with at most K preemptions (or every
 * interleaving), by default as a stateful search that runs each (state, last thread, budget) once.
 * Prints the first race found (written as a finding file that `repro` replays), or the
 * certificate {"complete": true, "certificate": {"bound": K | "unbounded", "states": N}}.
 * With --all-verdicts it goes on after the first race and lists every distinct verdict.
 * SIGINT or --max-seconds stop it with the partial result (complete: false, explored, pruned,
 * frontier). sim/ reads no clock and no signal: both come in through the search's control.
 */
export async function exhaustiveCommand(o: ExhaustiveCliOptions): Promise<number> {
  const sc = loadScenario(o.scenario);
  const variant = loadVariant(o.variant, sc);
  const stateful = o.stateful ?? o.preemptions === Number.POSITIVE_INFINITY;
  const t0 = performance.now();
  const boundText = o.preemptions === Number.POSITIVE_INFINITY ? 'unbounded' : String(o.preemptions);
  if (!o.json) {
    process.stderr.write(
      `racefarm fuzz: ${sc.name} under ${variant.name}, exhaustive, preemption bound ${boundText}, ${stateful ? 'stateful' : o.reduction ? 'stateless DFS, partial-order reduction' : 'stateless plain DFS'}\n`,
    );
  }
  const oracles = o.oracles ?? ALL_ORACLES;
  const target = oracles === ALL_ORACLES ? undefined : [...oracles].filter(isRace);
  let interrupted = false;
  const onSigint = (): void => {
    interrupted = true;
  };
  process.on('SIGINT', onSigint);
  const deadline = o.maxSeconds === undefined ? Number.POSITIVE_INFINITY : t0 + o.maxSeconds * 1000;
  const tty = !o.json && process.stderr.isTTY === true;
  let lastDraw = 0;
  const draw = (p: SearchProgress): void => {
    const now = performance.now();
    if (!tty || now - lastDraw < 250) return;
    lastDraw = now;
    process.stderr.write(
      `\r  explored ${fmtInt(p.schedules)}  pruned ${fmtInt(p.pruned)}  states ${fmtInt(p.states)}  frontier ${fmtInt(p.frontier)}  ${((now - t0) / 1000).toFixed(0)} s `,
    );
  };
  let r: ExhaustiveResult;
  try {
    const it = exhaustiveSearch(sc, variant.sites, {
      bound: o.preemptions,
      reduction: o.reduction,
      stateful,
      stopAtFirst: o.allVerdicts !== true,
      maxSchedules: o.maxSchedules,
      maxStates: o.maxStates,
      target,
      control: { every: SLICE, progress: draw, shouldStop: () => interrupted || performance.now() >= deadline },
    });
    for (;;) {
      const step = it.next();
      if (step.done === true) {
        r = step.value;
        break;
      }
      await nextTurn();
    }
  } finally {
    process.off('SIGINT', onSigint);
    if (tty) process.stderr.write('\n');
  }
  const elapsedMs = Math.round(performance.now() - t0);
  const findings = exhaustiveFindings(sc, variant, r).filter((f) => oracles.has(f.oracle));
  if (findings.length > 0) {
    try {
      mkdirSync(o.out, { recursive: true });
    } catch (e) {
      throw new UsageError(`--out: cannot create directory ${o.out}: ${(e as Error).message}`);
    }
  }
  const written = findings.map((f) => {
    const file = writeFindingFile(o.out, f);
    return { oracle: f.oracle, class: oracleClass(f.oracle), signature: f.signature, seed: f.seed, file };
  });
  const verdicts = sortedVerdicts(r);
  // JSON: the bound as a number, or "unbounded".
  const boundJson = Number.isFinite(r.bound) ? r.bound : 'unbounded';
  const stoppedBy = r.stopped === 'aborted' ? (interrupted ? 'interrupted' : 'max-seconds') : r.stopped;
  const summary = {
    complete: r.complete,
    stopped: stoppedBy,
    certificate: r.complete ? { bound: boundJson, stateful: r.stateful, states: r.states, schedules: r.schedules } : null,
    schedules: r.schedules,
    explored: r.schedules,
    pruned: r.pruned,
    states: r.states,
    frontier: r.frontier,
    bound: boundJson,
    stateful: r.stateful,
    reduction: r.reduction,
    steps: r.finding?.steps ?? 0,
    coverage: null,
    verdicts: o.allVerdicts === true ? verdicts.map((v) => ({ verdict: v.verdict, class: v.cls, schedules: v.schedules, decisions: v.decisions })) : undefined,
    findings: written,
    elapsedMs,
  };
  if (o.json) {
    process.stdout.write(JSON.stringify(summary) + '\n');
    return 0;
  }
  const counts = `${fmtInt(r.schedules)} schedules run, ${fmtInt(r.pruned)} cut ${r.stateful ? `at explored states (${fmtInt(r.states)} states)` : 'as equivalent'}`;
  if (written.length > 0) {
    process.stdout.write(
      `race found at schedule ${fmtInt((r.finding?.schedule ?? 0) + 1)}${r.schedules !== (r.finding?.schedule ?? 0) + 1 ? ` of ${fmtInt(r.schedules)}` : ''} (bound ${boundText}):\n` +
        written.map((w) => `  ${w.class}  ${w.oracle}  ${w.signature}  ${w.file}`).join('\n') +
        `\nreplay one with: ${commandPrefix()} repro ${written[0].file}\n`,
    );
  }
  if (o.allVerdicts === true) {
    process.stdout.write(`verdicts reached (${verdicts.length}):\n`);
    for (const v of verdicts) process.stdout.write(`  ${v.cls.padEnd(10)} ${v.verdict || '(clean)'}  ${fmtInt(v.schedules)} schedule(s)\n`);
  }
  if (r.complete) {
    if (written.length === 0) {
      process.stdout.write(`no race within ${boundText === 'unbounded' ? 'any interleaving' : `bound ${boundText}`}: `);
    }
    process.stdout.write(`complete (${boundText === 'unbounded' ? 'unbounded' : `bound ${boundText}`}): ${counts}, ${(elapsedMs / 1000).toFixed(1)} s\n`);
  } else if (written.length === 0) {
    const why =
      stoppedBy === 'interrupted' ? 'interrupted' : stoppedBy === 'max-seconds' ? `--max-seconds ${o.maxSeconds}` : stoppedBy === 'max-states' ? `--max-states ${fmtInt(o.maxStates ?? 0)}` : `--max-schedules ${fmtInt(o.maxSchedules)}`;
    process.stdout.write(`incomplete: stopped by ${why} without a race: ${counts}, frontier ${fmtInt(r.frontier)}\n`);
  }
  return 0;
}

interface SortedVerdict {
  readonly verdict: string;
  readonly cls: string;
  readonly schedules: number;
  readonly decisions: readonly number[];
}

/** Observable verdicts first, then invariant, then limit, then clean; by name within a class. */
function sortedVerdicts(r: ExhaustiveResult): SortedVerdict[] {
  const rank = (v: string): number => (v === '' ? 99 : Math.min(...v.split(',').map((o) => classRank(oracleClass(o as OracleName)))));
  return r.examples
    .map((e) => ({
      verdict: e.verdict,
      cls: e.verdict === '' ? 'clean' : ['observable', 'invariant', 'limit'][rank(e.verdict)],
      schedules: e.schedules,
      decisions: e.decisions,
    }))
    .sort((a, b) => rank(a.verdict) - rank(b.verdict) || (a.verdict < b.verdict ? -1 : a.verdict > b.verdict ? 1 : 0));
}
