import { compileScenario } from '../sim/scenario/compile.ts';
import { parseVariantJson } from '../sim/variants/resolve.ts';
import { runOnce, type RunResult } from '../sim/run.ts';
import { ReplayChooser } from '../sim/schedule/replay.ts';
import { SIM_VERSION } from '../sim/version.ts';
import type { Finding } from '../sim/finding.ts';
import type { TraceRow } from '../sim/trace/row.ts';
import type { Variant } from '../sim/variants/presets.ts';
import { renderTable } from '../sim/trace/table.ts';
import { oracleClass } from '../sim/oracles/classes.ts';
import { EXIT } from './errors.ts';

/**
 * `racefarm repro FILE --variant V`: the finding's decisions replayed under its own variant and
 * under V (same scenario), and where the two runs part: "what does the fix change in this
 * interleaving?". Decisions are thread ids at each point where two or more threads could run; under
 * V a recorded thread may not be runnable (V blocks it, or it has finished), and then the replay
 * keeps the last thread going, as `repro` does for an edited schedule.
 */

export interface VariantReplay {
  readonly original: RunResult;
  readonly other: RunResult;
  /** First step at which the traces differ (thread, kernel function, page or effects); null if they never do. */
  readonly divergedAt: number | null;
  /** The oracle of the finding fired under V. */
  readonly fires: boolean;
  /** Decision points under V where the recorded thread could not run. */
  readonly unfollowed: number;
}

function sameRow(a: TraceRow, b: TraceRow): boolean {
  return a.thread === b.thread && a.label === b.label && a.page === b.page && a.effects === b.effects;
}

export function firstDivergence(a: readonly TraceRow[], b: readonly TraceRow[]): number | null {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (!sameRow(a[i], b[i])) return i;
  return a.length === b.length ? null : n;
}

export function replayUnder(f: Finding, v: Variant): VariantReplay {
  const sc = compileScenario(f.scenario);
  const own = parseVariantJson({ sites: f.variant.sites, name: f.variant.name }, f.variant.name);
  const original = runOnce(sc, own.sites, new ReplayChooser(f.decisions), { trace: true });
  const chooser = new ReplayChooser(f.decisions);
  const other = runOnce(sc, v.sites, chooser, { trace: true });
  return {
    original,
    other,
    divergedAt: firstDivergence(original.trace ?? [], other.trace ?? []),
    fires: other.violations.some((x) => x.oracle === f.oracle),
    unfollowed: chooser.diverged,
  };
}

function rowText(run: RunResult, r: TraceRow | undefined): string {
  if (r === undefined) return '(the run had ended)';
  return `${run.threadNames[r.thread]}: ${r.label}${r.page ? ` [${r.page}]` : ''}${r.effects ? ` — ${r.effects}` : ''}`;
}

export function reproVariantCommand(file: string, f: Finding, v: Variant, json: boolean): number {
  if (f.simVersion !== SIM_VERSION) {
    const reason = `simulator version mismatch: the finding was made by ${f.simVersion}, this is ${SIM_VERSION}`;
    if (json) process.stdout.write(JSON.stringify({ reproduced: false, reason }) + '\n');
    else process.stdout.write(`NOT REPLAYED: ${reason}\n`);
    return EXIT.notReproduced;
  }
  const r = replayUnder(f, v);
  const at = r.divergedAt;
  const origRow = at === null ? undefined : r.original.trace![at];
  const otherRow = at === null ? undefined : r.other.trace![at];
  const hit = r.other.violations.find((x) => x.oracle === f.oracle);
  if (json) {
    process.stdout.write(
      JSON.stringify({
        finding: file,
        scenario: f.scenario.name,
        variant: f.variant.name,
        against: v.name,
        oracle: f.oracle,
        class: oracleClass(f.oracle),
        fires: r.fires,
        step: hit?.step ?? null,
        divergedAt: at,
        original: origRow ?? null,
        other: otherRow ?? null,
        unfollowedDecisions: r.unfollowed,
        violations: r.other.violations.map((x) => ({ oracle: x.oracle, step: x.step, message: x.message })),
        steps: { original: r.original.steps, other: r.other.steps },
      }) + '\n',
    );
    return r.fires ? EXIT.ok : EXIT.notReproduced;
  }
  const lines = [
    `finding    ${file}`,
    `scenario   ${f.scenario.name}`,
    `variant    ${f.variant.name} → ${v.name} (the same ${f.decisions.length} decisions)`,
    `oracle     ${f.oracle} (${oracleClass(f.oracle)})`,
    '',
  ];
  if (at === null) {
    lines.push(`the traces do not diverge: ${v.name} makes the same ${r.original.steps} steps`);
  } else {
    lines.push(`first divergence at step ${at}:`, `  ${f.variant.name.padEnd(Math.max(f.variant.name.length, v.name.length))}  ${rowText(r.original, origRow)}`);
    lines.push(`  ${v.name.padEnd(Math.max(f.variant.name.length, v.name.length))}  ${rowText(r.other, otherRow)}`);
  }
  if (r.unfollowed > 0) lines.push(`${r.unfollowed} recorded decision(s) could not be followed under ${v.name} (the thread was not runnable); the replay kept the last thread going there`);
  lines.push('', `${v.name}:`);
  if (r.other.trace !== null) lines.push(renderTable(r.other.trace, r.other.threadNames, r.other.violations, { hideIdle: true, width: 38 }), '');
  if (hit) lines.push(`STILL FIRES under ${v.name}: ${f.oracle} at step ${hit.step} of ${r.other.steps}: ${hit.message}`);
  else {
    const got = r.other.violations.map((x) => x.oracle).join(', ') || 'none';
    lines.push(`NO LONGER FIRES under ${v.name}: ${f.oracle} did not fire (oracles that fired: ${got})`);
  }
  process.stdout.write(lines.join('\n') + '\n');
  return r.fires ? EXIT.ok : EXIT.notReproduced;
}
