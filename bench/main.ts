/**
 * `npm run bench [-- --quick] [-- --json] [-- --lanes N] [-- --readme]`: every figure of issue 7.
 *
 * Phase 1 runs alone, one measurement at a time (speed, the memory baseline, local and farm scaling:
 * figures whose value is a rate and which must not share the machine). Phase 2 spreads the searches
 * (time to first finding, exhaustive certificates, coverage, shrinking, the fast-check baseline) over
 * `--lanes` bench processes, one task each at a time (default: 2 with --quick, 1 otherwise): their
 * main figures are schedule counts, which do not depend on the machine; their milliseconds are
 * measured single-threaded, with the other lane busy on the other core.
 *
 * --json writes bench/results.json and prints it; the tables then go to stderr. The SVG plots go to
 * bench/plots/ on every run; --readme rewrites README.md's `## Benchmarks` section from the results.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import { CATALOG } from '../sim/scenario/catalog.ts';
import { SIM_VERSION } from '../sim/version.ts';
import { TaskPool } from './pool.ts';
import type { Task, TaskReply } from './task.ts';
import { FIRST_FINDING_STRATEGIES, type FirstFindingRow } from './firstFinding.ts';
import { exhaustiveTasks, type ExhaustiveRow } from './exhaustive.ts';
import type { CoverageRow } from './coverage.ts';
import type { PctAutoRow } from './pctAuto.ts';
import type { BenchResults } from './results.ts';
import { formatAll } from './report.ts';
import { writePlots } from './plots.ts';
import { updateReadme } from './readme.ts';
import { packagePath } from '../farm/compiled.ts';

const argv = process.argv.slice(2);
const args = new Set(argv);
const quick = args.has('--quick');
const json = args.has('--json');
const lanesArg = argv.indexOf('--lanes');
const lanes = lanesArg >= 0 ? Math.max(1, Number(argv[lanesArg + 1]) || 1) : quick ? 2 : 1;

const settings = quick
  ? {
      speedMillis: 150,
      profileMillis: 1_000,
      baselineMillis: 150,
      baselineRuns: 200,
      localScalingSeeds: 60_000,
      farmSeeds: 30_000,
      campaigns: 20,
      firstFindingCap: 2_000,
      exhaustiveFirstCap: 30_000,
      exhaustiveFirstRepeats: 1,
      certificateCap: 200_000,
      cowBound2Cap: null as number | null,
      coverageSchedules: 2_000,
      coveragePoints: 20,
      shrinkRepeat: 3,
      shrinkMaxRuns: 4_000,
      fastCheckCap: 5_000,
      fastCheckCampaigns: 5,
      fastCheckCorrectRuns: 1_000,
      pctAutoCampaigns: 5,
      cliFuzzSeeds: 5_000,
      generatedMillis: 1_000,
      generatedSchedules: 200,
      generatedPrograms: 300,
    }
  : {
      speedMillis: 2_000,
      profileMillis: 3_000,
      baselineMillis: 1_000,
      baselineRuns: 500,
      localScalingSeeds: 200_000,
      farmSeeds: 100_000,
      campaigns: 20,
      firstFindingCap: 50_000,
      exhaustiveFirstCap: 200_000,
      exhaustiveFirstRepeats: 3,
      certificateCap: 1_000_000,
      cowBound2Cap: 300_000 as number | null,
      coverageSchedules: 10_000,
      coveragePoints: 20,
      shrinkRepeat: 5,
      shrinkMaxRuns: 4_000,
      fastCheckCap: 20_000,
      fastCheckCampaigns: 10,
      fastCheckCorrectRuns: 10_000,
      pctAutoCampaigns: 20,
      cliFuzzSeeds: 30_000,
      generatedMillis: 3_000,
      generatedSchedules: 200,
      generatedPrograms: 2_000,
    };

const t0 = performance.now();
const out = json ? process.stderr : process.stdout;
const log = (m: string) => process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${m}\n`);
const machine = {
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: os.availableParallelism(),
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  platform: `${os.type()} ${os.release()} ${os.arch()}`,
  /** 1-minute load average when the bench started and when it ended: other work on the machine skews every rate. */
  loadAverage: { start: os.loadavg()[0], end: 0 },
};
log(`racefarm bench — ${machine.cpu}, ${machine.cores} cores, node ${machine.node}${quick ? ' (quick)' : ''}, ${lanes} lane(s) for the searches`);

const pool = new TaskPool(lanes);
const failures: { task: Task; error: string }[] = [];
const describe = (t: Task): string => {
  switch (t.kind) {
    case 'firstFinding':
      return `first finding ${t.scenario} ${t.strategy}`;
    case 'exhaustive':
      return `exhaustive ${t.scenario} ${t.variant} bound ${t.bound} ${t.reduction ? 'POR' : 'DFS'}`;
    case 'coverage':
      return `coverage ${t.scenario}`;
    case 'pctAuto':
      return `pct auto ${t.scenario}`;
    default:
      return t.kind;
  }
};
/** Tasks that run the simulator over Proxy-wrapped state (see TaskPool). */
const usesProxies = (t: Task): boolean =>
  t.kind === 'baseline' ||
  t.kind === 'profile' || // the inspector's profiler: likewise kept away from timed tasks
  t.kind === 'generated' || // its coverage report reads the sites through a Proxy (after its timing)
  (t.kind === 'exhaustive' && t.reduction) ||
  (t.kind === 'firstFinding' && t.strategy === 'exhaustive-2');
async function run<T>(task: Task): Promise<T | null> {
  const r: TaskReply = await pool.run(task, usesProxies(task));
  if (!r.ok) {
    failures.push({ task, error: r.error });
    log(`FAILED ${describe(task)}: ${r.error.split('\n')[0]}`);
    return null;
  }
  log(`done ${describe(task)} (${(r.ms / 1000).toFixed(1)} s)`);
  return r.result as T;
}

let results: BenchResults;
try {
  // Phase 1: rates, alone.
  const speed = await run<BenchResults['simSpeed']>({ kind: 'speed', millis: settings.speedMillis });
  const local = await run<BenchResults['scaling']['local']>({ kind: 'localScaling', seeds: settings.localScalingSeeds });
  const farm = await run<BenchResults['scaling']['farm']>({ kind: 'farm', seeds: settings.farmSeeds });
  // The CLI as a process, one scenario at a time, right before the baseline it is compared with.
  const cliFuzz = await run<BenchResults['cliFuzz']>({ kind: 'cliFuzz', seeds: settings.cliFuzzSeeds });
  const baseline = await run<BenchResults['baseline']>({ kind: 'baseline', millis: settings.baselineMillis, runs: settings.baselineRuns });
  const generated = await run<BenchResults['generated']>({ kind: 'generated', millis: settings.generatedMillis, schedules: settings.generatedSchedules, programs: settings.generatedPrograms });

  // Phase 2: searches, over the lanes, longest first.
  const names = CATALOG.map((e) => e.scenario.name);
  const tasks: { task: Task; cost: number }[] = [];
  for (const t of exhaustiveTasks((sc, bound) => (sc === 'cow-two-pages' && bound === 2 ? settings.cowBound2Cap : settings.certificateCap))) {
    tasks.push({ task: { kind: 'exhaustive', ...t }, cost: t.scenario === 'cow-two-pages' ? (t.bound === 2 ? 400 : t.reduction ? 70 : 150) : t.bound === 2 ? 15 : 1 });
  }
  for (const scenario of names) {
    for (const strategy of FIRST_FINDING_STRATEGIES) {
      const ex = strategy === 'exhaustive-2';
      tasks.push({
        task: {
          kind: 'firstFinding',
          scenario,
          strategy,
          campaigns: ex ? 1 : settings.campaigns,
          cap: ex ? settings.exhaustiveFirstCap : settings.firstFindingCap,
          repeats: ex ? settings.exhaustiveFirstRepeats : 1,
        },
        cost: scenario === 'cow-two-pages' ? (ex ? 120 : 20) : strategy === 'pct-1' || strategy === 'pct-2' ? 10 : 3,
      });
    }
    tasks.push({ task: { kind: 'coverage', scenario, schedules: settings.coverageSchedules, points: settings.coveragePoints }, cost: 5 });
    tasks.push({ task: { kind: 'pctAuto', scenario, campaigns: settings.pctAutoCampaigns }, cost: scenario === 'unmap-window-madv-free' ? 60 : 2 });
  }
  tasks.push({ task: { kind: 'profile', millis: settings.profileMillis }, cost: 10 });
  tasks.push({ task: { kind: 'shrink', repeat: settings.shrinkRepeat, maxRuns: settings.shrinkMaxRuns }, cost: 30 });
  tasks.push({ task: { kind: 'fastCheck', campaigns: settings.fastCheckCampaigns, cap: settings.fastCheckCap, correctRuns: settings.fastCheckCorrectRuns }, cost: 30 });
  tasks.sort((a, b) => b.cost - a.cost);
  const done = await Promise.all(tasks.map((t) => run<unknown>(t.task).then((r) => ({ task: t.task, r }))));

  const firstFinding: FirstFindingRow[] = [];
  const exhaustive: ExhaustiveRow[] = [];
  const coverage: CoverageRow[] = [];
  let shrink: BenchResults['shrink'] = null;
  let fastCheck: BenchResults['fastCheck'] = null;
  let profile: BenchResults['profile'] = null;
  const pctAuto: PctAutoRow[] = [];
  for (const { task, r } of done) {
    if (r === null) continue;
    if (task.kind === 'firstFinding') firstFinding.push(r as FirstFindingRow);
    else if (task.kind === 'exhaustive') exhaustive.push(r as ExhaustiveRow);
    else if (task.kind === 'coverage') coverage.push(...(r as CoverageRow[]));
    else if (task.kind === 'shrink') shrink = r as BenchResults['shrink'];
    else if (task.kind === 'fastCheck') fastCheck = r as BenchResults['fastCheck'];
    else if (task.kind === 'profile') profile = r as BenchResults['profile'];
    else if (task.kind === 'pctAuto') pctAuto.push(r as PctAutoRow);
  }
  const order = (s: string) => names.indexOf(s);
  firstFinding.sort((a, b) => order(a.scenario) - order(b.scenario) || FIRST_FINDING_STRATEGIES.indexOf(a.strategy) - FIRST_FINDING_STRATEGIES.indexOf(b.strategy));
  exhaustive.sort((a, b) => order(a.scenario) - order(b.scenario) || a.variant.localeCompare(b.variant) || a.bound - b.bound || Number(b.reduction) - Number(a.reduction));
  coverage.sort((a, b) => order(a.scenario) - order(b.scenario));
  pctAuto.sort((a, b) => order(a.scenario) - order(b.scenario));

  results = {
    date: new Date().toISOString(),
    machine,
    simVersion: SIM_VERSION,
    quick,
    lanes,
    wallMs: 0,
    settings,
    simSpeed: speed,
    baseline,
    cliFuzz,
    profile,
    firstFinding,
    scaling: { local, farm: farm ?? { available: false, reason: 'the farm task failed (see failures)' } },
    shrink,
    fastCheck,
    exhaustive,
    coverage,
    pctAuto,
    generated,
    plots: [],
    failures: failures.map((f) => ({ task: describe(f.task), error: f.error.split('\n')[0] })),
  };
} finally {
  pool.close();
}

// bench/ of the package, also when this file runs compiled from dist/bench/.
const dir = `${packagePath('bench')}/`;
mkdirSync(`${dir}plots`, { recursive: true });
results.plots = writePlots(results, `${dir}plots`).map((p) => `bench/plots/${p}`);
results.wallMs = performance.now() - t0;
results.machine.loadAverage.end = os.loadavg()[0];
out.write(formatAll(results) + '\n');
if (json) {
  writeFileSync(`${dir}results.json`, JSON.stringify(results, null, 1) + '\n');
  console.log(JSON.stringify(results));
}
if (args.has('--readme')) {
  updateReadme(results);
  log('README.md: ## Benchmarks updated');
}
log(`wall time ${(results.wallMs / 1000).toFixed(1)} s${failures.length > 0 ? `, ${failures.length} task(s) failed` : ''}`);
process.exitCode = failures.length > 0 ? 1 : 0;
