import type { Finding } from '../sim/finding.ts';
import { replayFinding } from '../sim/replay.ts';
import { renderTable } from '../sim/trace/table.ts';
import { shrinkFinding } from '../sim/shrink/shrink.ts';
import { isRace } from '../sim/fuzz.ts';
import { programSeedOf } from '../sim/generate/generation.ts';
import { minimizeFinding as minimizeProgram } from '../sim/generate/minimization.ts';

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
 * The finding is shrunk (sim/shrink: threads, ops, then preemptions removed while the same oracle
 * fires with the same signature, down to a 1-minimal schedule), then the shrunk finding is replayed
 * for its trace. The same code the local `fuzz` runs before writing a finding file.
 */
export function minimizeFinding(f: Finding): MinimizeOutcome {
  try {
    return minimizeOrThrow(f);
  } catch (e) {
    // A failure that would fail every retry the same way (the work is deterministic): answer it
    // now, so the finding is marked failed with the reason and its campaigns are released.
    return { ok: false, finding: null, trace: '', reason: `minimize failed: ${(e as Error)?.message ?? String(e)}`.slice(0, 2000) };
  }
}

function minimizeOrThrow(f: Finding): MinimizeOutcome {
  let shrunk = f;
  if (isRace(f.oracle)) {
    try {
      // A generated program (an explore campaign's finding): program first, then schedule.
      shrunk = programSeedOf(f.scenario) !== null ? minimizeProgram(f).finding : shrinkFinding(f, { maxRuns: 4000 }).finding;
    } catch (e) {
      return { ok: false, finding: null, trace: '', reason: `shrink failed: ${(e as Error).message}` };
    }
  }
  let r: ReturnType<typeof replayFinding>;
  try {
    r = replayFinding(shrunk);
  } catch (e) {
    return { ok: false, finding: null, trace: '', reason: `replay failed: ${(e as Error).message}` };
  }
  if (!r.reproduced) {
    const trace = r.run?.trace ? renderTable(r.run.trace, r.run.threadNames, r.run.violations, { hideIdle: true }) : '';
    return { ok: false, finding: null, trace, reason: r.reason };
  }
  const trace = renderTable(r.run.trace ?? [], r.run.threadNames, r.run.violations, { hideIdle: true });
  return { ok: true, finding: shrunk, trace, reason: '' };
}
