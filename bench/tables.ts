import type { BenchResults } from './results.ts';
import { fmtSummary } from './stats.ts';
import { ffCell } from './report.ts';

/**
 * The tables of the figures issue 13 and issue 11 added (CLI against the baseline, fc.scheduler on
 * the same model, PCT auto, generated programs), as head + rows: bench/report.ts prints them as
 * text, bench/readme.ts as Markdown, from the same cells.
 */
export interface Table {
  head: string[];
  rows: string[][];
}

const k = (n: number) => Math.round(n).toLocaleString('en-US');
const x1 = (n: number) => `${n.toFixed(1)}×`;

/** 1b: `fuzz --workers 1` ns/step against the bare replay's, per scenario, and their ratio. */
export function cliFuzzTable(r: BenchResults): Table | null {
  if (!r.cliFuzz) return null;
  return {
    head: ['scenario', 'CLI fuzz ns/step', 'CLI steps/s', 'core (runSeeds) ns/step', 'baseline ns/step', 'CLI ÷ baseline', 'CLI ÷ core'],
    rows: r.cliFuzz.map((c) => {
      const b = r.baseline?.find((x) => x.scenario === c.scenario);
      const core = r.simSpeed?.find((x) => x.scenario === c.scenario && x.strategy === 'random');
      const baseNs = b ? 1e9 / b.baselineStepsPerSec : null;
      const coreNs = core ? 1e9 / core.stepsPerSec : null;
      return [
        c.scenario,
        c.nsPerStep.toFixed(0),
        k(c.stepsPerSec),
        coreNs === null ? '—' : coreNs.toFixed(0),
        baseNs === null ? '—' : baseNs.toFixed(0),
        baseNs === null ? '—' : x1(c.nsPerStep / baseNs),
        coreNs === null ? '—' : x1(c.nsPerStep / coreNs),
      ];
    }),
  };
}

/** Geometric mean of CLI ÷ baseline over the scenarios, and how many are within 4×. */
export function cliFuzzSummary(r: BenchResults): { geo: number; within4: number; n: number } | null {
  if (!r.cliFuzz || !r.baseline) return null;
  const ratios = r.cliFuzz.flatMap((c) => {
    const b = r.baseline!.find((x) => x.scenario === c.scenario);
    return b ? [c.nsPerStep / (1e9 / b.baselineStepsPerSec)] : [];
  });
  if (ratios.length === 0) return null;
  return { geo: Math.exp(ratios.reduce((a, x) => a + Math.log(x), 0) / ratios.length), within4: ratios.filter((x) => x <= 4).length, n: ratios.length };
}

/** 5: per race, fc.scheduler against racefarm random and pct auto, same cap, same number of campaigns. */
export function fastCheckTable(r: BenchResults): Table | null {
  const f = r.fastCheck;
  if (!f || !f.races) return null;
  const rows: string[][] = [];
  for (const race of f.races) {
    for (const s of race.searches) {
      rows.push([
        race.scenario,
        s.side,
        fmtSummary(s.runs, race.cap),
        s.ms.found > 0 ? fmtSummary(s.ms) : '—',
        k(s.runsPerSec),
        s.stepsPerRun.toFixed(1),
      ]);
    }
  }
  return { head: ['race (buggy preset)', 'scheduler', 'runs to first finding', 'ms', 'runs/s', 'steps/run'], rows };
}

/** 8: PCT --depth auto per race: budget, found, seeds to first finding, depths of the first findings; pct at fixed depth 3 beside it. */
export function pctAutoTable(r: BenchResults): Table | null {
  if (!r.pctAuto || r.pctAuto.length === 0) return null;
  return {
    head: ['race', 'buggy preset', 'budget (seeds)', 'found', 'seeds to first finding', 'depth of first finding (3/4/5/6)', 'pct-3 (figure 2)'],
    rows: r.pctAuto.map((p) => [
      p.scenario,
      p.variant,
      k(p.budget),
      `${p.seeds.found}/${p.campaigns}${p.allFound ? '' : ' MISSED'}`,
      fmtSummary(p.seeds, p.budget),
      ['3', '4', '5', '6'].map((d) => String(p.depths[d] ?? 0)).join('/'),
      ffCell(r.firstFinding.find((x) => x.scenario === p.scenario && x.strategy === 'pct-3'), 'schedules'),
    ]),
  };
}

/** 9: explore's speed, and what N generated programs reach against the catalog. */
export function generatedTables(r: BenchResults): { speed: Table; coverage: Table } | null {
  const g = r.generated;
  if (!g) return null;
  return {
    speed: {
      head: ['preset', 'programs', 'schedules/program', 'programs/s', 'schedules/s', 'steps/s', 'observable findings'],
      rows: g.speed.map((s) => [s.variant, k(s.programs), k(s.schedulesPerProgram), s.programsPerSec.toFixed(1), k(s.schedulesPerSec), k(s.stepsPerSec), String(s.findings)]),
    },
    coverage: {
      head: ['preset', 'what', 'programs', 'ops', 'op pairs on one page', 'sites', 'only the catalog reaches'],
      rows: g.coverage.flatMap((c) => [
        [c.variant, 'generated', k(c.generated.programs), `${c.generated.ops}/${c.universe.ops}`, k(c.generated.pairs), `${c.generated.sites}/${c.universe.sites}`, [...c.catalogOnly.ops, ...c.catalogOnly.pairs, ...c.catalogOnly.sites].join(', ') || 'nothing'],
        [c.variant, 'catalog', k(c.catalog.programs), `${c.catalog.ops}/${c.universe.ops}`, k(c.catalog.pairs), `${c.catalog.sites}/${c.universe.sites}`, ''],
      ]),
    },
  };
}
