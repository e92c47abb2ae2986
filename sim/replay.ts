import { compileScenario } from './scenario/compile.ts';
import { parseVariantJson } from './variants/resolve.ts';
import { runOnce, type RunResult } from './run.ts';
import { ReplayChooser } from './schedule/replay.ts';
import { FINDING_FORMAT, violationSignature, type Finding } from './finding.ts';
import { SIM_VERSION } from './version.ts';
import { InputError } from './scenario/errors.ts';
import type { Violation } from './oracles/violation.ts';
import { ORACLE_CLASSES } from './oracles/classes.ts';

export type ReplayOutcome =
  | { readonly reproduced: true; readonly run: RunResult; readonly violation: Violation; readonly signatureMatches: boolean }
  | { readonly reproduced: false; readonly reason: string; readonly run: RunResult | null };

/** Checks a parsed finding file's shape enough to replay it; throws InputError naming the bad field. */
export function checkFindingShape(f: unknown): Finding {
  const problems: string[] = [];
  if (typeof f !== 'object' || f === null) throw new InputError('invalid finding', ['(top level): must be an object']);
  const o = f as Record<string, unknown>;
  if (o.format !== FINDING_FORMAT) problems.push(`format: expected "${FINDING_FORMAT}", got ${JSON.stringify(o.format)}`);
  if (typeof o.simVersion !== 'string') problems.push('simVersion: missing');
  if (typeof o.oracle !== 'string') problems.push('oracle: missing');
  if (!Array.isArray(o.decisions) || !o.decisions.every((d) => Number.isInteger(d) && d >= 0)) {
    problems.push('decisions: must be an array of thread ids');
  }
  if (o.class !== undefined && !(ORACLE_CLASSES as readonly unknown[]).includes(o.class)) {
    problems.push(`class: must be one of ${ORACLE_CLASSES.join(', ')} (or absent), got ${JSON.stringify(o.class)}`);
  }
  if (typeof o.variant !== 'object' || o.variant === null) problems.push('variant: missing');
  if (typeof o.scenario !== 'object' || o.scenario === null) problems.push('scenario: missing');
  if (problems.length > 0) throw new InputError('invalid finding', problems);
  return f as Finding;
}

/**
 * Replays a finding's recorded decisions with tracing on. It reproduces when the same oracle fires;
 * a different simulator version is refused up front, since its decisions mean another schedule.
 */
export function replayFinding(f: Finding): ReplayOutcome {
  if (f.simVersion !== SIM_VERSION) {
    return {
      reproduced: false,
      reason: `simulator version mismatch: the finding was made by ${f.simVersion}, this is ${SIM_VERSION}; re-run the campaign (same scenario, variant, strategy and seed ${f.seed}) with this version`,
      run: null,
    };
  }
  const sc = compileScenario(f.scenario);
  const variant = parseVariantJson({ sites: f.variant.sites, name: f.variant.name }, f.variant.name);
  const run = runOnce(sc, variant.sites, new ReplayChooser(f.decisions), { trace: true });
  const v = run.violations.find((x) => x.oracle === f.oracle);
  if (!v) {
    const got = run.violations.map((x) => x.oracle).join(', ') || 'none';
    return { reproduced: false, reason: `the oracle ${f.oracle} did not fire (oracles that fired: ${got})`, run };
  }
  return { reproduced: true, run, violation: v, signatureMatches: violationSignature(v, f.variant.name, variant.sites) === f.signature };
}
