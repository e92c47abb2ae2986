/**
 * The simulation thread's side (coordinator/simThread.ts): each message is one task, answered
 * with one result. Loaded only inside that thread.
 */
import { parentPort } from 'node:worker_threads';
import { InputError } from '../sim/scenario/errors.ts';
import { compileScenario } from '../sim/scenario/compile.ts';
import { replayFinding } from '../sim/replay.ts';
import { renderTable } from '../sim/trace/table.ts';
import { renderFindingHtml } from '../sim/trace/html.ts';
import { estimateSteps } from '../sim/schedule/strategy.ts';
import type { Finding } from '../sim/finding.ts';
import type { ScenarioJson } from '../sim/scenario/compiled.ts';
import type { Sites } from '../sim/variants/sites.ts';
import { splitSearch } from '../farm/split.ts';
import type { FuzzJobData } from '../farm/jobs.ts';
import { runPrefixJob } from '../worker/exhaustive.ts';

export type SimTask =
  | { readonly kind: 'trace'; readonly finding: Finding }
  | { readonly kind: 'estimate'; readonly scenario: ScenarioJson; readonly sites: Sites }
  | { readonly kind: 'split'; readonly scenario: ScenarioJson; readonly sites: Sites; readonly bound: number; readonly split: number; readonly max: number }
  | { readonly kind: 'prefix'; readonly job: FuzzJobData }
  | { readonly kind: 'html'; readonly finding: Finding; readonly banner: string; readonly maxChars: number };

/** The web view's HTML trace of a finding (sim/trace/html.ts), or why there is none. */
export interface HtmlOutcome {
  readonly html: string | null;
  readonly reproduced: boolean;
  readonly reason: string;
}

export interface TraceOutcome {
  readonly trace: string;
  readonly reproduced: boolean;
  readonly reason: string;
  readonly signatureMatches: boolean;
  readonly oracle: string;
}

export type SimTaskResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string; readonly problems?: string[] };

/** Replays a finding; its trace table is bounded (sim/trace/table.ts elides the middle of a long run). */
export function traceOf(f: Finding): TraceOutcome {
  const r = replayFinding(f);
  const trace = r.run?.trace ? renderTable(r.run.trace, r.run.threadNames, r.run.violations, { hideIdle: true }) : '';
  if (!r.reproduced) return { trace, reproduced: false, reason: r.reason, signatureMatches: false, oracle: f.oracle };
  return { trace, reproduced: true, reason: '', signatureMatches: r.signatureMatches, oracle: r.violation.oracle };
}

/** Replays a finding for its HTML page; a page longer than `maxChars` is dropped (said why). */
export function htmlOf(f: Finding, banner: string, maxChars: number): HtmlOutcome {
  const r = renderFindingHtml(f, { banner });
  const reason = r.reproduced ? '' : r.reason;
  if (r.html !== null && r.html.length > maxChars) {
    return { html: null, reproduced: r.reproduced, reason: `its HTML trace would be ${r.html.length} characters, more than the web view serves (${maxChars})` };
  }
  return { html: r.html, reproduced: r.reproduced, reason };
}

function run(t: SimTask): unknown {
  if (t.kind === 'trace') return traceOf(t.finding);
  if (t.kind === 'prefix') return runPrefixJob(t.job);
  if (t.kind === 'html') return htmlOf(t.finding, t.banner, t.maxChars);
  if (t.kind === 'split') return splitSearch(compileScenario(t.scenario), t.sites, t.bound, t.split, t.max);
  return estimateSteps(compileScenario(t.scenario), t.sites);
}

parentPort?.on('message', (t: SimTask) => {
  let res: SimTaskResult;
  try {
    res = { ok: true, value: run(t) };
  } catch (e) {
    res = e instanceof InputError ? { ok: false, error: e.message.split(':\n')[0], problems: [...e.problems] } : { ok: false, error: (e as Error)?.message ?? String(e) };
  }
  parentPort!.postMessage(res);
});
