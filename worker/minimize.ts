import type { Finding } from '../sim/finding.ts';
import { replayFinding } from '../sim/replay.ts';
import { renderTable } from '../sim/trace/table.ts';

export interface MinimizeOutcome {
  /** The finding still fires its oracle. */
  readonly ok: boolean;
  /** The minimized finding (when ok). */
  readonly finding: Finding | null;
  /** The trace table of its replay. */
  readonly trace: string;
  /** Why it failed, when it did. */
  readonly reason: string;
}

/**
 * The work of one `minimize` job: everything the farm does to a new signature before storing it.
 *
 * TODO(shrinker): `sim/shrink/` (being written separately) will export
 * `shrinkFinding(finding, opts) → { finding, … }`. Plug it in here: shrink `f` first, then replay
 * the shrunk finding below for its trace (and keep the signature check). Until then this confirms
 * the finding by replaying it and returns it unchanged with its trace.
 */
export function minimizeFinding(f: Finding): MinimizeOutcome {
  let r: ReturnType<typeof replayFinding>;
  try {
    r = replayFinding(f);
  } catch (e) {
    return { ok: false, finding: null, trace: '', reason: `replay failed: ${(e as Error).message}` };
  }
  if (!r.reproduced) {
    const trace = r.run?.trace ? renderTable(r.run.trace, r.run.threadNames, r.run.violations, { hideIdle: true }) : '';
    return { ok: false, finding: null, trace, reason: r.reason };
  }
  const trace = renderTable(r.run.trace ?? [], r.run.threadNames, r.run.violations, { hideIdle: true });
  return { ok: true, finding: f, trace, reason: '' };
}
