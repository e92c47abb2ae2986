import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exhaustive, exhaustiveFindings } from '../sim/schedule/exhaustive.ts';
import { loadScenario, loadVariant } from './inputs.ts';
import { UsageError } from './errors.ts';
import { fmtInt } from './format.ts';
import { ALL_ORACLES, oracleClass, type OracleSelection } from '../sim/oracles/classes.ts';
import { isRace } from '../sim/fuzz.ts';

export interface ExhaustiveCliOptions {
  readonly scenario: string;
  readonly variant?: string;
  readonly preemptions: number;
  readonly maxSchedules: number;
  readonly reduction: boolean;
  readonly out: string;
  readonly json: boolean;
  /** The oracles that count (default all): the search stops only at one of them, and only they are findings. */
  readonly oracles?: OracleSelection;
}

/**
 * `racefarm fuzz --strategy exhaustive`: every schedule with at most K preemptions, once per
 * equivalence class of independent steps. Prints the first race found (written as a finding file
 * that `repro` replays), or the certificate {"complete": true, "schedules": N, "bound": K}.
 */
export function exhaustiveCommand(o: ExhaustiveCliOptions): number {
  const sc = loadScenario(o.scenario);
  const variant = loadVariant(o.variant, sc);
  const t0 = performance.now();
  if (!o.json) {
    process.stderr.write(
      `racefarm fuzz: ${sc.name} under ${variant.name}, exhaustive, preemption bound ${o.preemptions}${o.reduction ? ', partial-order reduction' : ''}\n`,
    );
  }
  const oracles = o.oracles ?? ALL_ORACLES;
  const target = oracles === ALL_ORACLES ? undefined : [...oracles].filter(isRace);
  const r = exhaustive(sc, variant.sites, { bound: o.preemptions, reduction: o.reduction, stopAtFirst: true, maxSchedules: o.maxSchedules, target });
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
    const file = join(o.out, `${f.signature}.json`);
    writeFileSync(file, JSON.stringify(f, null, 2) + '\n');
    return { oracle: f.oracle, class: oracleClass(f.oracle), signature: f.signature, seed: f.seed, file };
  });
  const summary = {
    complete: r.complete,
    schedules: r.schedules,
    pruned: r.pruned,
    bound: r.bound,
    reduction: r.reduction,
    steps: r.finding?.steps ?? 0,
    coverage: null,
    findings: written,
    elapsedMs,
  };
  if (o.json) {
    process.stdout.write(JSON.stringify(summary) + '\n');
  } else if (written.length > 0) {
    process.stdout.write(
      `race found after ${fmtInt(r.schedules)} schedule(s) (bound ${r.bound}):\n` +
        written.map((w) => `  ${w.class}  ${w.oracle}  ${w.signature}  ${w.file}`).join('\n') +
        `\nreplay one with: npm run -s racefarm -- repro ${written[0].file}\n`,
    );
  } else if (r.complete) {
    process.stdout.write(
      `no violation within bound ${r.bound}: ${fmtInt(r.schedules)} schedules (${fmtInt(r.pruned)} cut as equivalent), ${(elapsedMs / 1000).toFixed(1)} s\n`,
    );
  } else {
    process.stdout.write(`incomplete: stopped after --max-schedules ${fmtInt(o.maxSchedules)} executions without a violation\n`);
  }
  return 0;
}
