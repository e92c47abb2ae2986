/**
 * Shared helpers of the unit tests (not a test file itself: mocha only loads `*.test.ts`).
 */
import { compileScenario } from '../../sim/scenario/compile.ts';
import type { CompiledScenario } from '../../sim/scenario/compiled.ts';
import type { ScenarioInput } from '../../sim/scenario/schema.ts';
import { runOnce, type RunOptions, type RunResult } from '../../sim/run.ts';
import { ReplayChooser } from '../../sim/schedule/replay.ts';
import { PRESETS } from '../../sim/variants/presets.ts';
import type { Sites } from '../../sim/variants/sites.ts';
import type { TraceRow } from '../../sim/trace/row.ts';

export function sitesOf(preset: string): Sites {
  const v = PRESETS.get(preset);
  if (!v) throw new Error(`test bug: no preset ${preset}`);
  return v.sites;
}

export function compile(input: ScenarioInput): CompiledScenario {
  return compileScenario(input);
}

/** Replays `decisions` (default: none, i.e. no preemption) with tracing on. */
export function replay(
  sc: CompiledScenario,
  variant: string | Sites,
  decisions: readonly number[] = [],
  opts: RunOptions = {},
): RunResult {
  const sites = typeof variant === 'string' ? sitesOf(variant) : variant;
  return runOnce(sc, sites, new ReplayChooser(decisions), { trace: true, ...opts });
}

export function rows(r: RunResult): TraceRow[] {
  if (r.trace === null) throw new Error('test bug: run was not traced');
  return r.trace;
}

/** Labels of every traced step, in step order. */
export function labels(r: RunResult): string[] {
  return rows(r).map((x) => x.label);
}

/** Labels of the steps run by one thread (by name). */
export function labelsOf(r: RunResult, thread: string): string[] {
  const id = r.threadNames.indexOf(thread);
  if (id < 0) throw new Error(`test bug: no thread ${thread} in ${r.threadNames.join(', ')}`);
  return rows(r)
    .filter((x) => x.thread === id)
    .map((x) => x.label);
}

/** Index of the first step with this label (optionally from a given step), -1 if none. */
export function stepOf(r: RunResult, label: string, from = 0): number {
  const i = rows(r).findIndex((x, k) => k >= from && x.label === label);
  return i < 0 ? -1 : rows(r)[i].step;
}

export function oracles(r: RunResult): string[] {
  return r.violations.map((v) => v.oracle);
}

/** The values a thread's reads returned, parsed from the trace notes `P[c] = v from …`. */
export function readValues(r: RunResult, thread: string): { page: string; cell: number; value: number }[] {
  const id = r.threadNames.indexOf(thread);
  const out: { page: string; cell: number; value: number }[] = [];
  for (const row of rows(r)) {
    if (row.thread !== id) continue;
    const m = /(^|; )([A-Za-z][A-Za-z0-9_]*)\[(\d+)\] = (-?\d+) from frame/.exec(row.effects);
    if (m) out.push({ page: m[2], cell: Number(m[3]), value: Number(m[4]) });
  }
  return out;
}

/** Asserts that `want` occurs in `have` in this order (other entries may come in between). */
export function assertInOrder(have: readonly string[], want: readonly string[], what = 'trace'): void {
  let i = 0;
  for (const x of have) if (i < want.length && x === want[i]) i++;
  if (i < want.length) {
    throw new Error(`${what}: missing ${JSON.stringify(want[i])} (after ${JSON.stringify(want.slice(0, i))}) in\n  ${have.join('\n  ')}`);
  }
}
