import { readFileSync, writeFileSync } from 'node:fs';
import type { BenchResults } from './results.ts';
import { FIRST_FINDING_STRATEGIES } from './firstFinding.ts';
import { exCount, exhaustivePairs, ffCell } from './report.ts';
import { packagePath } from '../farm/compiled.ts';
import { cliFuzzSummary, cliFuzzTable, fastCheckTable, generatedTables, pctAutoTable } from './tables.ts';

const k = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function md(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  return [`| ${head.map(cell).join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

/** The README's `## Benchmarks` section, from a results.json. */
export function benchmarksSection(r: BenchResults): string {
  const m = r.machine;
  const s = r.settings;
  const o: string[] = [];
  o.push('## Benchmarks');
  o.push('');
  o.push(
    `\`npm run bench\` measures every figure of issue 7 side by side; \`npm run bench -- --quick --json\` is the short version (under two minutes) and writes \`bench/results.json\`; ` +
      `\`-- --readme\` rewrites this section from the run. Plots (hand-written SVG): [time to first finding](bench/plots/first-finding.svg), [coverage over schedules](bench/plots/coverage.svg).`,
  );
  o.push('');
  o.push(
    `Latest numbers: \`npm run bench -- ${r.quick ? '--quick ' : ''}--json\` on ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node} (${m.platform}), ${r.simVersion}, ` +
      `${r.date.slice(0, 10)}; wall time ${(r.wallMs / 1000).toFixed(0)} s.${r.quick ? ' Quick caps and sample sizes are stated with each table; the full run uses larger ones.' : ''}`,
  );
  o.push('');
  o.push('![time to first finding](bench/plots/first-finding.svg)');
  o.push('');

  o.push('**1. Simulator speed**, one core, fuzz mode (no trace), each scenario under its buggy preset. *Baseline*: the same typed-array reads and writes the simulator made on the same seeds, recorded once and replayed in a bare loop (no generators, scheduler, gates or oracle logic; `bench/baseline.ts`); *sim ÷ baseline* is the simulator\'s share of that speed.');
  o.push('');
  if (r.simSpeed) {
    const scen = [...new Set(r.simSpeed.map((x) => x.scenario))];
    o.push(
      md(
        ['scenario', 'random steps/s', 'schedules/s', 'pct steps/s', 'schedules/s', 'mem ops/step', 'baseline steps/s', 'sim ÷ baseline'],
        scen.map((sc) => {
          const a = r.simSpeed!.find((x) => x.scenario === sc && x.strategy === 'random')!;
          const p = r.simSpeed!.find((x) => x.scenario === sc && x.strategy === 'pct');
          const b = r.baseline?.find((x) => x.scenario === sc);
          return [sc, k(a.stepsPerSec), k(a.schedulesPerSec), p ? k(p.stepsPerSec) : '—', p ? k(p.schedulesPerSec) : '—', b ? b.accessesPerStep.toFixed(1) : '—', b ? k(b.baselineStepsPerSec) : '—', b ? pct(b.ratio) : '—'];
        }),
      ),
    );
    const steps = r.simSpeed.reduce((a, x) => a + x.steps, 0);
    const ms = r.simSpeed.reduce((a, x) => a + x.ms, 0);
    o.push('');
    o.push(`Overall ${k((steps / ms) * 1000)} steps/s per core (target 1,000,000).`);
  }
  if (r.profile) {
    const p = r.profile;
    o.push('');
    o.push(
      `Where the time goes (V8 CPU profile of fuzzing ${p.scenario}, self time; V8 counts inlined callees towards their caller): ` +
        p.shares
          .filter((x) => x.share >= 0.01)
          .map((x) => `${x.where.startsWith('(') ? x.where : `\`${x.where}\``} ${pct(x.share)}`)
          .join(', ') +
        `; hottest functions: ${p.top
          .slice(0, 5)
          .map((x) => `\`${x.fn}\` ${pct(x.share)}`)
          .join(', ')}.`,
    );
  }
  o.push('');

  const ct = cliFuzzTable(r);
  if (ct) {
    const cs = cliFuzzSummary(r);
    o.push(
      `**1b. The command line against the bare replay** (issue 13): \`racefarm fuzz --strategy random --workers 1 --json\` as a process per scenario (buggy preset, ${k(r.cliFuzz![0]?.seeds ?? 0)} seeds, ${r.cliFuzz![0]?.entry ?? ''} JavaScript), ` +
        `ns/step = its own \`elapsedMs\` (the campaign: compiling the scenario, JIT warm-up, every run; not the process start-up or shrinking) over its steps; *core*: runSeeds in the bench process (table 1); *baseline*: table 1's bare replay, same bench run.` +
        (cs ? ` CLI ÷ baseline: geometric mean ${cs.geo.toFixed(1)}×, ${cs.within4} of ${cs.n} scenarios within the 4× target.` : ''),
    );
    o.push('');
    o.push(md(ct.head, ct.rows));
    o.push('');
  }

  o.push(
    `**2. Time to first finding** (buggy preset), schedules, median [min–max] over ${s.campaigns} campaign seeds (campaign k runs seeds from k × 1,000,000). ` +
      `Cap ${k(s.firstFindingCap ?? 0)} schedules per search; "none ≤ cap": not found by any search; "(n/N)": found by n of N searches. ` +
      `exhaustive-2: DFS, preemption bound 2, partial-order reduction, first race, cap ${k(s.exhaustiveFirstCap ?? 0)} executions — deterministic, so one search (counting the executions the reduction cut short). ` +
      'Milliseconds per search are in `bench/results.json`.',
  );
  o.push('');
  const races = [...new Set(r.firstFinding.map((f) => f.scenario))];
  o.push(
    md(
      ['race', ...FIRST_FINDING_STRATEGIES],
      races.map((sc) => [sc, ...FIRST_FINDING_STRATEGIES.map((st) => ffCell(r.firstFinding.find((f) => f.scenario === sc && f.strategy === st), 'schedules'))]),
    ),
  );
  o.push('');

  o.push('**3. Scaling**, cow-two-pages under range-end-only, random strategy.');
  o.push('');
  const rows: string[][] = [];
  const loc = r.scaling.local;
  if (loc) {
    for (const x of loc.runs) {
      const after = x.schedulesPerSecAfterStartup !== undefined ? ` (${k(x.schedulesPerSecAfterStartup)} without the ${k(x.startupMs ?? 0)} ms thread start-up)` : '';
      rows.push([`local, ${x.workers === 1 ? '1 worker (in-process)' : `${x.workers} worker threads`}`, k(x.seeds), k(x.schedulesPerSec) + after, pct(x.efficiency), '']);
    }
    if (loc.threadStart) {
      const ms = (x: number | null) => (x === null ? 'n/a' : `${k(x)} ms`);
      rows.push([`one worker thread's start-up: compiled ${ms(loc.threadStart.compiledMs)}, tsx ${ms(loc.threadStart.tsxMs)} (load ${loc.loadAverage.start.toFixed(1)})`, '', '', '', '']);
    }
  }
  const farm = r.scaling.farm;
  if (farm.available) {
    const f = farm as unknown as { local: { schedulesPerSec: number }; seeds: number; farm: { workers: number; schedulesPerSec: number; efficiency: number; queueOverheadPct: number }[] };
    rows.push(['farm reference: runSeeds in one process', k(f.seeds), k(f.local.schedulesPerSec), '', '']);
    for (const x of f.farm) rows.push([`farm through Redis, ${x.workers} worker process${x.workers > 1 ? 'es' : ''}`, k(f.seeds), k(x.schedulesPerSec), pct(x.efficiency), `${x.queueOverheadPct.toFixed(1)}%`]);
  }
  o.push(md(['setup', 'seeds', 'schedules/s', 'vs N × one', 'queue overhead'], rows));
  if (!farm.available) o.push(`\nfarm: unavailable (${(farm as { reason: string }).reason}).`);
  o.push('');
  o.push(
    `On ${m.cores} cores the 2-worker runs share them with the bench itself, and for the farm with the coordinator and Redis; "queue overhead" is the share of the workers' wall time not spent simulating.`,
  );
  o.push('');

  if (r.shrink) {
    o.push('**4. Shrinking** the first random-strategy finding of each race.');
    o.push('');
    o.push(
      md(
        ['race', 'oracle', 'steps before → after', 'threads', 'preemptions', 'runs', 'ms', '1-minimal'],
        r.shrink.map((x) => [x.scenario, x.oracle, `${x.stepsBefore} → ${x.stepsAfter}`, `${x.threadsBefore} → ${x.threadsAfter}`, `${x.preemptionsBefore} → ${x.preemptionsAfter}`, String(x.runs), x.ms.toFixed(1), x.minimal ? 'yes' : 'no']),
      ),
    );
    o.push('');
  }

  const fct = fastCheckTable(r);
  if (fct && r.fastCheck) {
    const f = r.fastCheck;
    o.push(
      `**5. Against fast-check's \`fc.scheduler\`, on the same model**: \`bench/fastcheck.ts\` drives the simulator itself through a Chooser whose every decision is fast-check's ` +
        `(each runnable thread has one task pending in the \`fc.Scheduler\`; \`waitOne()\` releases one, and that thread runs the step), so the scenario, the variant, the oracles and the cost of a step are the same on both sides and only the scheduler differs. ` +
        `Each side gets the same cap, ${k(f.cap)} runs per search, and ${f.campaigns} campaigns (fast-check seeds k × 1,000,000 + 1; racefarm seeds from k × 1,000,000); runs to the first run with one of the race's expected oracles, median [min–max]. ` +
        `fc.scheduler releases uniformly among the pending tasks, so it behaves as racefarm's random strategy does, at fast-check's cost per run; PCT auto is the difference a scheduler makes. ` +
        `Sanity: under ${f.correct.variant} the adapter failed ${f.correct.failures} times in ${k(f.correct.runs)} runs of ${f.race}.`,
    );
    o.push('');
    o.push(md(fct.head, fct.rows));
    o.push('');
  }

  o.push(
    `**6. Exhaustive search** on the correct presets (certificates "no violation within bound k"): schedules with sleep-set partial-order reduction (POR; "+n cut": executions the reduction stopped early) against plain DFS; *DFS ÷ POR* compares executions (POR's complete and cut ones together). Cap ${k(s.certificateCap ?? 0)} executions.` +
      (s.cowBound2Cap === null ? ' cow-two-pages at bound 2 (about a million schedules) is skipped in the quick run.' : ''),
  );
  o.push('');
  const pairs = exhaustivePairs(r.exhaustive);
  const keys = [...new Set(pairs.map((p) => `${p.por.scenario}\u0000${p.por.variant}`))];
  const at = (key: string, bound: number) => pairs.find((p) => `${p.por.scenario}\u0000${p.por.variant}` === key && p.por.bound === bound);
  const ratio = (p: ReturnType<typeof at>) => (p === undefined ? '' : p.dfs && p.dfs.complete && p.por.complete ? `${(p.dfs.schedules / (p.por.schedules + p.por.pruned)).toFixed(1)}×` : '—');
  o.push(
    md(
      ['scenario', 'preset', 'bound 1: POR', 'plain DFS', 'DFS ÷ POR', 'bound 2: POR', 'plain DFS', 'DFS ÷ POR'],
      keys.map((key) => {
        const [scenario, variant] = key.split('\u0000');
        const b1 = at(key, 1);
        const b2 = at(key, 2);
        return [scenario, variant, exCount(b1?.por), exCount(b1?.dfs), ratio(b1), b2 ? exCount(b2.por) : 'skipped (--quick)', b2 ? exCount(b2.dfs) : '', ratio(b2)];
      }),
    ),
  );
  o.push('');

  o.push(`**7. Coverage** features after ${k(s.coverageSchedules ?? 0)} schedules per strategy (buggy presets, pct at depth 3); the curves are in the [coverage plot](bench/plots/coverage.svg).`);
  o.push('');
  const strategies = [...new Set(r.coverage.map((c) => c.strategy))];
  const covRaces = [...new Set(r.coverage.map((c) => c.scenario))];
  o.push(
    md(
      ['scenario', ...strategies],
      [
        ...covRaces.map((sc) => [sc, ...strategies.map((st) => String(r.coverage.find((c) => c.scenario === sc && c.strategy === st)?.features ?? '—'))]),
        ['**total**', ...strategies.map((st) => `**${r.coverage.filter((c) => c.strategy === st).reduce((a, c) => a + c.features, 0)}**`)],
      ],
    ),
  );
  o.push('');
  o.push('![coverage over schedules](bench/plots/coverage.svg)');
  o.push('');
  const pa = pctAutoTable(r);
  if (pa) {
    o.push(
      `**8. PCT \`--depth auto\`** (the default of \`fuzz --strategy pct\`: seed s runs at depth 3 + (s mod 4)) on every catalog race under its buggy preset, ${r.pctAuto[0]?.campaigns ?? 0} campaigns each (campaign k: seeds from k × 1,000,000) up to the race's seed budget; ` +
        `"found" counts the campaigns that found one of the race's expected oracles within the budget; the depth column counts the depth each campaign's first finding ran at (what its finding file records). ` +
        `pct-3 is figure 2's fixed depth 3 (its own cap) for comparison.`,
    );
    o.push('');
    o.push(md(pa.head, pa.rows));
    o.push('');
  }

  const gt = generatedTables(r);
  if (gt && r.generated) {
    o.push(
      `**9. Generated programs** (\`racefarm explore\`, sim/generate): speed of the explore loop on one core (generate, validate, ${r.generated.speed[0]?.schedulesPerProgram ?? 0} schedules per program of its default mixed strategy (half random, half PCT), observable oracles; no shrinking), ` +
        `and what ${k(r.generated.coverage[0]?.generated.programs ?? 0)} generated programs reach (sim/generate/coverage.ts: \`kind:op\` ops out of every drawable one, op pairs of two threads on one page, notifier sites read out of every site) next to the ${r.generated.coverage[0]?.catalog.programs ?? 0} catalog scenarios under the same preset.`,
    );
    o.push('');
    o.push(md(gt.speed.head, gt.speed.rows));
    o.push('');
    o.push(md(gt.coverage.head, gt.coverage.rows));
    o.push('');
  }

  if (r.failures.length > 0) {
    o.push(`Not measured in this run: ${r.failures.map((f) => `${f.task} (${f.error})`).join('; ')}.`);
    o.push('');
  }
  return o.join('\n');
}

/** Replaces README.md's `## Benchmarks` section (up to the next `## ` heading), or appends it. */
export function updateReadme(r: BenchResults, path = packagePath('README.md')): void {
  const text = readFileSync(path, 'utf8');
  const section = benchmarksSection(r);
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^## Benchmarks\s*$/.test(l));
  let next: string;
  if (start < 0) {
    next = text.replace(/\n*$/, '\n\n') + section;
  } else {
    let end = lines.findIndex((l, i) => i > start && /^## /.test(l));
    if (end < 0) end = lines.length;
    next = [...lines.slice(0, start), ...section.split('\n'), ...lines.slice(end)].join('\n');
  }
  writeFileSync(path, next.replace(/\n*$/, '\n'));
}

// `node --import tsx bench/readme.ts`: rewrite the section from bench/results.json.
if (import.meta.url === `file://${process.argv[1]}`) {
  const r = JSON.parse(readFileSync(packagePath('bench', 'results.json'), 'utf8')) as BenchResults;
  updateReadme(r);
  console.log('README.md: ## Benchmarks updated from bench/results.json');
}
