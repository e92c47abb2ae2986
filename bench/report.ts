import type { BenchResults } from './results.ts';
import { FIRST_FINDING_STRATEGIES, type FirstFindingRow } from './firstFinding.ts';
import { formatShrink } from './shrink.ts';
import { fmtNum, fmtSummary, type Summary } from './stats.ts';
import type { ExhaustiveRow } from './exhaustive.ts';
import { cliFuzzSummary, cliFuzzTable, fastCheckTable, generatedTables, pctAutoTable, type Table } from './tables.ts';

const tbl = (t: Table): string => table(t.head, t.rows);

/** A plain-text table: columns padded to their widest cell; numbers-looking cells right-aligned. */
export function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const right = (s: string) => /^[\d,.\s%×<>≤–\-[\]/()]+$/.test(s) && s.trim() !== '';
  const line = (r: readonly string[]) => r.map((c, i) => (right(c) ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ').trimEnd();
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}

const k = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export function ffCell(r: FirstFindingRow | undefined, what: 'schedules' | 'ms'): string {
  if (!r) return '—';
  const s: Summary = r[what];
  if (what === 'ms') {
    if (s.found === 0) return `none (cap ${fmtNum(r.cap)})`;
    return fmtSummary(s);
  }
  return fmtSummary(s, r.cap);
}

export function exhaustivePairs(rows: readonly ExhaustiveRow[]): { por: ExhaustiveRow; dfs: ExhaustiveRow | undefined }[] {
  return rows
    .filter((r) => r.reduction)
    .map((por) => ({ por, dfs: rows.find((d) => !d.reduction && d.scenario === por.scenario && d.variant === por.variant && d.bound === por.bound) }));
}

export const exCount = (r: ExhaustiveRow | undefined): string =>
  r === undefined ? '—' : r.complete ? k(r.schedules) + (r.pruned > 0 ? ` (+${k(r.pruned)} cut)` : '') : `incomplete at cap ${k(r.cap)}`;

export function formatAll(r: BenchResults): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(`racefarm bench — ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, node ${m.node}, ${r.simVersion}${r.quick ? ' (--quick)' : ''}`);

  out.push('\n1. Simulator speed, one core, fuzz mode (no trace), each scenario under its buggy preset');
  if (r.simSpeed) {
    const base = new Map((r.baseline ?? []).map((b) => [b.scenario, b]));
    const rows = [...new Set(r.simSpeed.map((s) => s.scenario))].map((sc) => {
      const rnd = r.simSpeed!.find((s) => s.scenario === sc && s.strategy === 'random')!;
      const p = r.simSpeed!.find((s) => s.scenario === sc && s.strategy === 'pct');
      const b = base.get(sc);
      return [
        sc,
        rnd.variant,
        k(rnd.stepsPerSec),
        k(rnd.schedulesPerSec),
        p ? k(p.stepsPerSec) : '—',
        p ? k(p.schedulesPerSec) : '—',
        b ? b.accessesPerStep.toFixed(1) : '—',
        b ? k(b.baselineStepsPerSec) : '—',
        b ? k(b.simStepsPerSec) : '—',
        b ? pct(b.ratio) : '—',
      ];
    });
    out.push(table(['scenario', 'variant', 'random steps/s', 'sched/s', 'pct steps/s', 'sched/s', 'mem ops/step', 'baseline steps/s', 'sim steps/s', 'sim ÷ baseline'], rows));
    const steps = r.simSpeed.reduce((a, s) => a + s.steps, 0);
    const ms = r.simSpeed.reduce((a, s) => a + s.ms, 0);
    out.push(`overall: ${k((steps / ms) * 1000)} steps/s on one core (target 1,000,000)`);
    out.push(
      'baseline = replay of the typed-array reads/writes the simulator made on the same seeds (recorded once through proxies), with no generators,\n' +
        'scheduler, gates or oracle logic; "sim ÷ baseline" is the simulator\'s speed as a share of that bare memory work (bench/baseline.ts).',
    );
  } else out.push('unavailable (see failures)');
  if (r.profile) {
    const p = r.profile;
    out.push(`\nwhere the time goes (V8 CPU profile of fuzzing ${p.scenario} under ${p.variant}, ${k(p.samples)} samples, self time; inlined callees count towards their caller):`);
    out.push(p.shares.filter((x) => x.share >= 0.005).map((x) => `${x.where} ${pct(x.share)}`).join(', '));
    out.push(`hottest functions: ${p.top.slice(0, 8).map((x) => `${x.fn} (${x.where}) ${pct(x.share)}`).join(', ')}`);
  }

  out.push('\n1b. racefarm fuzz --strategy random --workers 1 as a process (its own elapsedMs over its steps) against the bare replay (bench/baseline.ts), same run');
  const ct = cliFuzzTable(r);
  if (ct) {
    out.push(tbl(ct));
    const cs = cliFuzzSummary(r);
    if (cs) out.push(`CLI ÷ baseline: geometric mean ${cs.geo.toFixed(1)}×, ${cs.within4}/${cs.n} scenarios within 4× (issue 13's target); CLI ran ${r.cliFuzz![0]?.entry ?? '?'} JavaScript, ${k(r.cliFuzz![0]?.seeds ?? 0)} seeds per scenario`);
  } else out.push('unavailable (see failures)');

  out.push(`\n2. Time to first finding (buggy preset), schedules: median [min–max] over ${r.settings.campaigns} campaign seeds (seedStart = k × 1,000,000)`);
  const races = [...new Set(r.firstFinding.map((f) => f.scenario))];
  const cell = (sc: string, s: string, what: 'schedules' | 'ms') => ffCell(r.firstFinding.find((f) => f.scenario === sc && f.strategy === s), what);
  out.push(table(['race', ...FIRST_FINDING_STRATEGIES], races.map((sc) => [sc, ...FIRST_FINDING_STRATEGIES.map((s) => cell(sc, s, 'schedules'))])));
  out.push('milliseconds (same searches, found ones only):');
  out.push(table(['race', ...FIRST_FINDING_STRATEGIES], races.map((sc) => [sc, ...FIRST_FINDING_STRATEGIES.map((s) => cell(sc, s, 'ms'))])));
  out.push(
    `caps: ${k(r.settings.firstFindingCap ?? 0)} schedules per search for random/pct/coverage ("none ≤ cap" = no search found it; "(n/N)" = found in n of N);\n` +
      `exhaustive-2 = DFS, preemption bound 2, partial-order reduction, stop at the first race, cap ${k(r.settings.exhaustiveFirstCap ?? 0)} executions;\n` +
      'it is deterministic (one search, no campaign seeds), and counts every execution, including the ones the reduction cut short.',
  );

  out.push('\n3. Scaling (cow-two-pages, range-end-only, random strategy)');
  const loc = r.scaling.local;
  if (loc) {
    out.push(
      table(
        ['where', 'workers', 'seeds', 'ms', 'schedules/s', 'efficiency', 'thread start-up ms', 'schedules/s after start-up'],
        loc.runs.map((x) => [
          'local (runLocalCampaign)',
          x.workers === 1 ? '1 (in-process)' : `${x.workers} threads`,
          k(x.seeds),
          k(x.elapsedMs),
          k(x.schedulesPerSec),
          pct(x.efficiency),
          x.startupMs !== undefined ? k(x.startupMs) : '',
          x.schedulesPerSecAfterStartup !== undefined ? k(x.schedulesPerSecAfterStartup) : '',
        ]),
      ),
    );
    out.push(`same schedules/steps for every worker count: ${loc.sameResult ? 'yes' : 'NO'}`);
    if (loc.threadStart) {
      const ms = (x: number | null) => (x === null ? 'n/a' : `${k(x)} ms`);
      out.push(
        `worker threads ran ${loc.workerEntry === 'compiled' ? 'compiled JavaScript (dist/)' : 'the sources through tsx'}; ` +
          `one thread's start-up (new Worker → first one-seed result, median of ${loc.threadStart.samples}): ` +
          `compiled ${ms(loc.threadStart.compiledMs)}, tsx ${ms(loc.threadStart.tsxMs)}; ` +
          `load average ${loc.loadAverage.start.toFixed(2)} → ${loc.loadAverage.end.toFixed(2)} during the scaling runs`,
      );
    }
  } else out.push('local: unavailable (see failures)');
  const farm = r.scaling.farm;
  if (farm.available) {
    const f = farm as unknown as { local: { schedulesPerSec: number; elapsedMs: number }; farm: { workers: number; elapsedMs: number; schedulesPerSec: number; efficiency: number; overheadPct: number; queueOverheadPct: number; exact: boolean }[]; seeds: number; batchSize: number };
    out.push(
      table(
        ['through Redis', 'workers', 'seeds', 'ms', 'schedules/s', 'vs workers × local', 'queue overhead', 'exact totals'],
        [
          ['local runSeeds (same seeds)', '1', k(f.seeds), k(f.local.elapsedMs), k(f.local.schedulesPerSec), '', '', ''],
          ...f.farm.map((x) => ['farm (BullMQ)', `${x.workers} proc`, k(f.seeds), k(x.elapsedMs), k(x.schedulesPerSec), pct(x.efficiency), `${x.queueOverheadPct.toFixed(1)}%`, x.exact ? 'yes' : 'NO']),
        ],
      ),
    );
    out.push(`farm: batch ${k(f.batchSize)} seeds per job; on ${r.machine.cores} cores the 2-worker run shares them with the coordinator and Redis.`);
  } else out.push(`farm: unavailable (${(farm as { reason: string }).reason})`);

  out.push('\n4. Shrinking (first random finding per race → shrunk)');
  out.push(r.shrink ? formatShrink(r.shrink) : 'unavailable (see failures)');

  out.push('\n5. fast-check fc.scheduler against racefarm\'s schedulers on the same model (bench/fastcheck.ts: a Chooser over fc.Scheduler)');
  const fct = fastCheckTable(r);
  if (fct && r.fastCheck) {
    out.push(tbl(fct));
    out.push(
      `same cap ${k(r.fastCheck.cap)} runs per search and ${r.fastCheck.campaigns} campaigns on every side; sanity: fc.scheduler under ${r.fastCheck.correct.variant} ` +
        `(${r.fastCheck.race}) failed ${r.fastCheck.correct.failures} time(s) in ${k(r.fastCheck.correct.runs)} runs.`,
    );
  } else out.push('unavailable (see failures)');

  out.push('\n6. Exhaustive search on the correct presets: schedules with partial-order reduction (POR) vs plain DFS (ratio over executions, cut ones included)');
  out.push(
    table(
      ['scenario', 'preset', 'bound', 'POR schedules', 'DFS schedules', 'DFS ÷ POR', 'POR ms', 'DFS ms', 'verdicts'],
      exhaustivePairs(r.exhaustive).map(({ por, dfs }) => [
        por.scenario,
        por.variant,
        String(por.bound),
        exCount(por),
        exCount(dfs),
        dfs && dfs.complete && por.complete ? `${(dfs.schedules / (por.schedules + por.pruned)).toFixed(1)}×` : '—',
        k(por.ms),
        dfs ? k(dfs.ms) : '—',
        [...new Set([...por.verdicts, ...(dfs?.verdicts ?? [])])].map((v) => v || 'clean').join(' '),
      ]),
    ),
  );
  if (r.settings.cowBound2Cap === null) out.push('cow-two-pages at bound 2 (about a million schedules) is skipped with --quick.');

  out.push(`\n7. Coverage features after ${k(r.settings.coverageSchedules ?? 0)} schedules (buggy presets; pct at depth 3)`);
  const covRaces = [...new Set(r.coverage.map((c) => c.scenario))];
  const strategies = [...new Set(r.coverage.map((c) => c.strategy))];
  out.push(
    table(
      ['scenario', ...strategies, 'corpus (coverage)'],
      covRaces.map((sc) => [
        sc,
        ...strategies.map((s) => String(r.coverage.find((c) => c.scenario === sc && c.strategy === s)?.features ?? '—')),
        String(r.coverage.find((c) => c.scenario === sc && c.strategy === 'coverage')?.corpus ?? '—'),
      ]),
    ),
  );
  out.push(`total: ${strategies.map((s) => `${s} ${r.coverage.filter((c) => c.strategy === s).reduce((a, c) => a + c.features, 0)}`).join(', ')}`);

  out.push('\n8. PCT --depth auto (seed s at depth 3 + (s mod 4)) on every catalog race, buggy preset, up to its seed budget per campaign');
  const pa = pctAutoTable(r);
  out.push(pa ? tbl(pa) : 'unavailable (see failures)');

  out.push('\n9. Generated programs (racefarm explore: mixed strategy, observable oracles, one core) and their coverage against the catalog');
  const gt = generatedTables(r);
  if (gt) {
    out.push(tbl(gt.speed));
    out.push(tbl(gt.coverage));
  } else out.push('unavailable (see failures)');

  out.push(`\nplots: ${r.plots.join(', ')}`);
  if (r.failures.length > 0) out.push(`failures: ${r.failures.map((f) => `${f.task}: ${f.error}`).join('; ')}`);
  out.push(`wall time: ${(r.wallMs / 1000).toFixed(1)} s; 1-minute load average ${m.loadAverage.start.toFixed(2)} at the start, ${m.loadAverage.end.toFixed(2)} at the end`);
  return out.join('\n');
}
