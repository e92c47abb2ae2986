import { writeFileSync } from 'node:fs';
import { checkFindingShape, replayFinding } from '../sim/replay.ts';
import { renderFindingHtml } from '../sim/trace/html.ts';
import type { Finding } from '../sim/finding.ts';
import { renderTable } from '../sim/trace/table.ts';
import { InputError } from '../sim/scenario/errors.ts';
import { loadVariant, readJsonFile } from './inputs.ts';
import { reproVariantCommand } from './reproVariant.ts';
import { classOfName, oracleClass } from '../sim/oracles/classes.ts';
import { EXIT, UsageError } from './errors.ts';

/**
 * Fields sim's checkFindingShape leaves unchecked but the replay report prints: a hand-edited file
 * missing them is bad input (exit 2), not a crash.
 */
function checkFindingFields(f: Finding): void {
  const o = f as unknown as Record<string, unknown>;
  const problems: string[] = [];
  const st = o.strategy as Record<string, unknown> | null | undefined;
  if (typeof st !== 'object' || st === null || typeof st.name !== 'string') problems.push('strategy: missing');
  if (!Number.isSafeInteger(o.seed)) problems.push('seed: must be an integer');
  if (typeof o.signature !== 'string') problems.push('signature: missing');
  if (typeof o.message !== 'string') problems.push('message: missing');
  const v = o.variant as Record<string, unknown>;
  if (typeof v.name !== 'string') problems.push('variant.name: missing');
  if (typeof v.sites !== 'object' || v.sites === null || Array.isArray(v.sites)) problems.push('variant.sites: must be an object');
  const sc = o.scenario as Record<string, unknown>;
  if (typeof sc.name !== 'string') problems.push('scenario.name: missing');
  if (problems.length > 0) throw new InputError('invalid finding', problems);
}

/** Trace column width: 38 (the table's default), narrowed to fit a terminal, never below 20. */
function columnWidth(rows: readonly { thread: number }[]): number {
  const cols = process.stdout.isTTY ? process.stdout.columns : 0;
  if (!cols) return 38;
  const threads = Math.max(1, new Set(rows.map((r) => r.thread)).size);
  const stepCol = Math.max(4, String(rows.length).length + 3) + 2;
  return Math.max(20, Math.min(38, Math.floor((cols - stepCol) / threads) - 3));
}

export interface ReproOptions {
  readonly html?: string;
  readonly json: boolean;
  /** Replay the decisions under this variant (preset or file) instead, and show where the runs part. */
  readonly variant?: string;
}

/**
 * `racefarm repro FILE`: replays a finding's recorded decisions with tracing on, prints the trace
 * table and the verdict. Exit 0 when the same oracle fires again, 1 when it does not (or the
 * simulator version differs), 2 when the file cannot be read or is not a finding.
 */
export function reproCommand(file: string, o: ReproOptions): number {
  const json = readJsonFile(file, 'finding');
  let f;
  let outcome;
  try {
    f = checkFindingShape(json);
    checkFindingFields(f);
    if (o.variant !== undefined) {
      if (o.html !== undefined) throw new UsageError('--html: not with --variant (render the other variant\'s run with trace --html, or drop --variant)');
      // The scenario is only consulted when no variant is named: never here.
      const v = loadVariant(o.variant, undefined as never);
      return reproVariantCommand(file, f, v, o.json);
    }
    outcome = replayFinding(f);
  } catch (e) {
    if (e instanceof InputError) {
      const headline = e.message.split('\n')[0].replace(/:$/, '');
      throw new InputError(`${file}: ${headline}`, e.problems);
    }
    throw e;
  }
  const run = outcome.run;
  if (o.html !== undefined) {
    // A standalone page: sequence diagram, per-step state on hover/click, the violation highlighted.
    const page = renderFindingHtml(f);
    if (page.html !== null) {
      try {
        writeFileSync(o.html, page.html);
      } catch (e) {
        throw new UsageError(`--html: cannot write ${o.html}: ${(e as Error).message}`);
      }
      if (!o.json) process.stderr.write(`racefarm repro: wrote ${o.html}\n`);
    }
  }

  if (o.json) {
    const out = outcome.reproduced
      ? {
          reproduced: true,
          oracle: outcome.violation.oracle,
          class: oracleClass(outcome.violation.oracle),
          message: outcome.violation.message,
          steps: outcome.run.steps,
          signatureMatches: outcome.signatureMatches,
          threads: outcome.run.threadNames,
          trace: outcome.run.trace ?? [],
        }
      : {
          reproduced: false,
          oracle: f.oracle,
          class: classOfName(f.oracle),
          message: outcome.reason,
          reason: outcome.reason,
          steps: run?.steps ?? null,
          signatureMatches: false,
          threads: run?.threadNames ?? [],
          trace: run?.trace ?? [],
        };
    process.stdout.write(JSON.stringify(out) + '\n');
    return outcome.reproduced ? EXIT.ok : EXIT.notReproduced;
  }

  const lines: string[] = [
    `finding    ${file}`,
    `scenario   ${f.scenario.name}`,
    `variant    ${f.variant.name}`,
    `strategy   ${f.strategy.name}${f.strategy.name === 'pct' ? ` depth ${f.strategy.depth}` : ''}, seed ${f.seed}, ${f.decisions.length} decisions`,
    `oracle     ${f.oracle} (${classOfName(f.oracle) ?? 'unknown class'}): ${f.message}`,
    `simulator  ${f.simVersion}`,
    '',
  ];
  if (run !== null && run.trace !== null) {
    lines.push(renderTable(run.trace, run.threadNames, run.violations, { hideIdle: true, width: columnWidth(run.trace) }), '');
  }
  if (outcome.reproduced) {
    lines.push(
      `REPRODUCED: ${outcome.violation.oracle} (${oracleClass(outcome.violation.oracle)}) at step ${outcome.violation.step} of ${outcome.run.steps}`,
      outcome.signatureMatches
        ? `signature ${f.signature} matches`
        : `note: the replayed violation's signature differs from the recorded ${f.signature} (other steps took part)`,
    );
  } else {
    lines.push(`NOT REPRODUCED: ${outcome.reason}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
  if (!outcome.reproduced) process.stderr.write(`racefarm repro: ${file} did not reproduce: ${outcome.reason}\n`);
  return outcome.reproduced ? EXIT.ok : EXIT.notReproduced;
}
