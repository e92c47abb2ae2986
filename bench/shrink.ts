import { CATALOG } from '../sim/scenario/catalog.ts';
import { firstCatalogFinding } from '../sim/shrink/catalogFinding.ts';
import { PCT_AUTO_DEPTH } from '../sim/schedule/pct.ts';
import type { Finding } from '../sim/finding.ts';
import { shrinkFinding } from '../sim/shrink/shrink.ts';

export interface ShrinkRow {
  scenario: string;
  variant: string;
  oracle: string;
  /** Seed of the raw finding (first random seed from 0 that hit an expected oracle). */
  seed: number;
  stepsBefore: number;
  stepsAfter: number;
  /** stepsAfter / stepsBefore. */
  ratio: number;
  threadsBefore: number;
  threadsAfter: number;
  opsBefore: number;
  opsAfter: number;
  preemptionsBefore: number;
  preemptionsAfter: number;
  /** Simulator runs the shrinker spent. */
  runs: number;
  /** Median wall time of one shrink, milliseconds. */
  ms: number;
  minimal: boolean;
}

/**
 * Shrink ratio and time per built-in race: the first random-strategy finding of the buggy preset,
 * shrunk `repeat` times (after one warm-up), median time reported.
 */
export function measureShrink(repeat = 5, maxRuns = 4000): ShrinkRow[] {
  const rows: ShrinkRow[] = [];
  for (const entry of CATALOG) {
    // unmap-window-madv-free's stale-read is out of uniform random's reach: start from pct's first finding.
    // A race random needs more seeds for (mprotect-soft-dirty-anon: 28,310) or never reaches (ksm-stale-tlb,
    // depths 5–6 only) starts from PCT auto's first finding (sim/schedule/pct.ts, depth 0 = auto).
    const first = (): Finding => {
      if (entry.scenario.name === 'unmap-window-madv-free') return firstCatalogFinding(entry, 20000, 'pct');
      try {
        return firstCatalogFinding(entry, 40000, 'random');
      } catch {
        return firstCatalogFinding(entry, 150000, 'pct', 2000, PCT_AUTO_DEPTH);
      }
    };
    const f = first();
    shrinkFinding(f, { maxRuns }); // warm-up
    const times: number[] = [];
    let r = shrinkFinding(f, { maxRuns });
    for (let i = 0; i < repeat; i++) {
      const t0 = performance.now();
      r = shrinkFinding(f, { maxRuns });
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const s = r.stats;
    rows.push({
      scenario: entry.scenario.name,
      variant: entry.buggyVariant,
      oracle: f.oracle,
      seed: f.seed,
      stepsBefore: s.stepsBefore,
      stepsAfter: s.stepsAfter,
      ratio: s.stepsAfter / s.stepsBefore,
      threadsBefore: s.threadsBefore,
      threadsAfter: s.threadsAfter,
      opsBefore: s.opsBefore,
      opsAfter: s.opsAfter,
      preemptionsBefore: s.preemptionsBefore,
      preemptionsAfter: s.preemptionsAfter,
      runs: s.runs,
      ms: times[times.length >> 1],
      minimal: s.minimal,
    });
  }
  return rows;
}

export function formatShrink(rows: readonly ShrinkRow[]): string {
  const out = [
    'scenario                  oracle            steps        ratio  threads  ops     preemptions  runs   ms     1-minimal',
  ];
  for (const r of rows) {
    out.push(
      `${r.scenario.padEnd(26)}${r.oracle.padEnd(18)}${`${r.stepsBefore} → ${r.stepsAfter}`.padEnd(13)}${r.ratio.toFixed(2).padEnd(7)}${`${r.threadsBefore} → ${r.threadsAfter}`.padEnd(9)}${`${r.opsBefore} → ${r.opsAfter}`.padEnd(8)}${`${r.preemptionsBefore} → ${r.preemptionsAfter}`.padEnd(13)}${String(r.runs).padEnd(7)}${r.ms.toFixed(1).padEnd(7)}${r.minimal ? 'yes' : 'no'}`,
    );
  }
  const before = rows.reduce((a, r) => a + r.stepsBefore, 0);
  const after = rows.reduce((a, r) => a + r.stepsAfter, 0);
  out.push(`total: ${before} → ${after} steps (${((after / before) * 100).toFixed(0)}%), ${rows.reduce((a, r) => a + r.ms, 0).toFixed(0)} ms`);
  return out.join('\n');
}
