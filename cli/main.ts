import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { InputError } from '../sim/scenario/errors.ts';
import os from 'node:os';
import { depthParser, intParser } from './args.ts';
import { EXIT, UsageError } from './errors.ts';
import { addFarmCommands } from './farm.ts';
import { packagePath } from '../farm/compiled.ts';
import { escapeText, inputReport } from '../farm/safeText.ts';

/**
 * The `racefarm` command line (README.md "Command line", a contract). Run from a checkout as
 * `npm run -s racefarm -- <command>`, or as `racefarm` through bin/racefarm.mjs.
 */

// Command modules are imported when their command runs: a usage error or a list does not pay for
// loading the whole simulator through tsx.

const MAX_WORKERS = 256;

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

function buildProgram(setCode: (code: number) => void): Command {
  const program = new Command();
  program
    .name('racefarm')
    .description('fuzz thread interleavings of Linux MMU / IOMMU / device-TLB invalidation paths')
    .version(packageVersion())
    .exitOverride()
    .showHelpAfterError('(run "racefarm help" or "racefarm <command> --help" for usage)');

  program
    .command('fuzz')
    .description('run a local campaign in worker threads (no Redis); write each unique finding to DIR/<scenario>.<signature>.json')
    .requiredOption('--scenario <name|file>', 'a built-in scenario (see "racefarm scenarios") or a scenario JSON file (docs/scenario-format.md)')
    .option('--variant <preset|file>', "a preset (see \"racefarm variants\") or a variant JSON file; default: the scenario's variant, else v4.13")
    .option('--strategy <name>', 'scheduling strategy: random, pct, coverage, exhaustive', 'random')
    .addOption(
      new Option('--depth <d|auto>', 'PCT bug depth d (d-1 priority change points), or auto: seed s runs at depth 3 + (s mod 4)')
        .argParser(depthParser('--depth'))
        .default(0, 'auto'),
    )
    .option('--preemptions <k>', 'exhaustive: preemption bound K (0-20), or "unbounded" for every interleaving', preemptionsParser, 2)
    .option('--max-schedules <n>', 'exhaustive: stop (incomplete) after this many executions', intParser('--max-schedules', 1), 1_000_000)
    .option('--max-states <n>', 'exhaustive: stop (incomplete) after this many distinct states (stateful search)', intParser('--max-states', 1), 20_000_000)
    .option('--max-seconds <s>', 'exhaustive: stop after this many seconds and print the partial result (complete: false)', intParser('--max-seconds', 1))
    .option('--all-verdicts', 'exhaustive: do not stop at the first race; report every distinct verdict reached (the first race is still the finding)', false)
    .option('--stateful', 'exhaustive: the stateful search (prunes states already explored with as much preemption budget left); default for --preemptions unbounded')
    .option('--no-stateful', 'exhaustive: the stateless DFS (sleep-set reduction; with --no-reduction, plain DFS); default for a bounded K, where it is faster today')
    .option('--no-reduction', 'exhaustive: with --no-stateful, plain DFS, without the partial-order reduction')
    .option('--seeds <n>', 'number of seeds (schedules) to run', intParser('--seeds', 1), 10000)
    .option('--seed-start <s>', 'first seed', intParser('--seed-start', 0), 0)
    .addOption(
      new Option('--workers <n>', 'worker threads')
        .argParser(intParser('--workers', 1, MAX_WORKERS))
        .default(Math.max(1, os.availableParallelism()), `the number of CPUs, ${Math.max(1, os.availableParallelism())}`),
    )
    .option('--out <dir>', 'directory for finding files', './findings')
    .option('--json', 'print one JSON object {schedules, steps, coverage, findings, elapsedMs} on stdout', false)
    .option('--oracles <which>', 'oracles that count as findings: observable, all, or a comma-separated list of oracle names', 'all')
    .option('--coverage', 'collect coverage features (slower; always on for --strategy coverage)', false)
    .action(async (opts: {
      coverage: boolean;
      oracles: string;
      scenario: string;
      variant?: string;
      strategy: string;
      depth: number;
      seeds: number;
      seedStart: number;
      workers: number;
      out: string;
      json: boolean;
      preemptions: number;
      maxSchedules: number;
      maxStates: number;
      maxSeconds?: number;
      allVerdicts: boolean;
      stateful?: boolean;
      reduction: boolean;
    }) => {
      const { fuzzCommand } = await import('./fuzz.ts');
      setCode(await fuzzCommand(opts));
    });

  program
    .command('repro')
    .description('replay a finding file and print its trace; exit 1 if it no longer reproduces')
    .argument('<file>', 'a finding file written by fuzz')
    .option('--html <out.html>', 'also write a standalone HTML sequence diagram of the replay (state per step on hover, violation highlighted)')
    .option('--json', 'print {reproduced, oracle, message, steps, signatureMatches, threads, trace} on stdout', false)
    .option('--variant <preset|file>', "replay the finding's decisions under another variant (same scenario): the first step where the traces diverge, and whether the oracle still fires (exit 0) or not (exit 1); --json prints {fires, divergedAt, original, other, ...}")
    .action(async (file: string, opts: { html?: string; json: boolean; variant?: string }) => {
      const { reproCommand } = await import('./repro.ts');
      setCode(reproCommand(file, opts));
    });

  program
    .command('scenarios')
    .description('list the built-in scenarios (name, the buggy variant that shows its race, description); with NAME, print that scenario as JSON')
    .argument('[name]', 'a built-in scenario')
    .action(async (name: string | undefined) => {
      const { scenariosText, scenarioJsonText } = await import('./lists.ts');
      if (name === undefined) {
        process.stdout.write(scenariosText());
        return;
      }
      const text = scenarioJsonText(name);
      if (text === null) {
        const { CATALOG } = await import('../sim/scenario/catalog.ts');
        throw new UsageError(`scenarios: "${name}" is not a built-in scenario (${CATALOG.map((e) => e.scenario.name).join(', ')})`);
      }
      process.stdout.write(text);
    });

  program
    .command('trace')
    .description('run one seed with tracing on and print its trace, whether or not an oracle fires')
    .requiredOption('--scenario <name|file>', 'a built-in scenario or a scenario JSON file (docs/scenario-format.md)')
    .option('--variant <preset|file>', "a preset or a variant JSON file; default: the scenario's variant, else v4.13")
    .option('--strategy <name>', 'random or pct (the schedule fuzz runs for that seed)', 'random')
    .addOption(
      new Option('--depth <d|auto>', 'PCT bug depth d, or auto (the depth fuzz ran that seed at: 3 + (seed mod 4))')
        .argParser(depthParser('--depth'))
        .default(0, 'auto'),
    )
    .requiredOption('--seed <n>', 'the seed', intParser('--seed', 0))
    .option('--html <out.html>', 'also write a standalone HTML sequence diagram of the run')
    .option('--json', 'print {scenario, variant, strategy, seed, steps, decisions, violations, threads, trace} on stdout', false)
    .action(async (opts: { scenario: string; variant?: string; strategy: string; depth: number; seed: number; html?: string; json: boolean }) => {
      const { traceCommand } = await import('./trace.ts');
      setCode(traceCommand(opts));
    });

  program
    .command('variants')
    .description('list the variant presets; with NAME, its choice at every site; with NAME --diff OTHER, the sites where they differ')
    .argument('[name]', 'a preset or a variant file')
    .option('--sites', 'list the notifier call sites a variant file can set, with their choices')
    .option('--diff <other>', 'with NAME: the sites where NAME and OTHER (a preset or variant file) differ, each choice with the kernel code it stands for')
    .action(async (name: string | undefined, opts: { sites?: boolean; diff?: string }) => {
      if (name !== undefined || opts.diff !== undefined) {
        if (name === undefined) throw new UsageError('--diff: give the variant to compare against first: racefarm variants A --diff B');
        if (opts.sites) throw new UsageError('--sites: lists every site; it does not take a variant NAME');
        const { variantText, variantsDiffText } = await import('./variantsDiff.ts');
        process.stdout.write(opts.diff !== undefined ? variantsDiffText(name, opts.diff) : variantText(name));
        return;
      }
      const { sitesText, variantsText } = await import('./lists.ts');
      process.stdout.write(opts.sites ? sitesText() : variantsText());
    });

  // ---- compare (issue 12): the variants × scenarios verdict matrix ----
  program
    .command('compare')
    .description('the variants × scenarios verdict matrix: each cell searched exhaustively up to K preemptions, else by random + pct seeds; findings shrunk and written to DIR')
    .option('--variants <list>', 'comma-separated presets or variant files, or all', 'v4.10,v4.11,v4.13,v4.15,v6.6,range-end-only')
    .option('--scenarios <list>', 'comma-separated built-in scenarios or scenario files, or all', 'all')
    .option('--preemptions <k>', 'preemption bound K of the exhaustive search', intParser('--preemptions', 0, 20), 2)
    .option('--max-schedules <n>', 'executions the exhaustive search may spend per cell before it falls back to seeds', intParser('--max-schedules', 1), 10000)
    .option('--seeds <n>', 'seeds of each fallback campaign (random, then pct) when the search is incomplete', intParser('--seeds', 1), 1000)
    .option('--shrink-runs <n>', 'simulator runs the shrinker may spend per finding', intParser('--shrink-runs', 0), 500)
    .option('--oracles <which>', 'oracles that count: observable or all', 'all')
    .addOption(
      new Option('--workers <n>', 'worker threads (cells run in parallel; the matrix is the same for any count)')
        .argParser(intParser('--workers', 1, MAX_WORKERS))
        .default(Math.max(1, os.availableParallelism()), `the number of CPUs, ${Math.max(1, os.availableParallelism())}`),
    )
    .option('--out <dir>', 'directory for finding files (and, with --format html, their trace pages)', './findings')
    .option('--format <f>', 'text, markdown, html or json', 'text')
    .action(async (opts: {
      variants: string;
      scenarios: string;
      preemptions: number;
      maxSchedules: number;
      seeds: number;
      shrinkRuns: number;
      oracles: string;
      workers: number;
      out: string;
      format: string;
    }) => {
      const { compareCommand } = await import('./compare.ts');
      setCode(await compareCommand(opts));
    });

  // ---- explore (generated programs, sim/generate) ----
  program
    .command('explore')
    .description('generate programs (scenarios), fuzz each one\'s schedules, shrink each unique finding (program, then schedule) into DIR/<scenario>.<signature>.json')
    .requiredOption('--variant <preset|file>', 'the variant to explore (a preset or a variant file)')
    .option('--against <preset|file>', 'differential mode: also run every program under this variant and report programs whose observable verdicts differ')
    .option('--programs <n>', 'number of generated programs', intParser('--programs', 1), 100)
    .option('--seed <s>', 'first program seed (programs S, S+1, …)', intParser('--seed', 0), 0)
    .option('--schedules <m>', 'schedules (seeds 0..M-1) per program', intParser('--schedules', 1), 200)
    .option('--strategy <name>', 'scheduling strategy: mixed (half random, half pct), random, pct, coverage', 'mixed')
    .option('--depth <d|auto>', 'PCT bug depth d, or auto (3 + (schedule seed mod 4))', depthParser('--depth'), 3)
    .option('--oracles <which>', 'oracles that count as findings: observable, all, or a comma-separated list', 'observable')
    .addOption(
      new Option('--workers <n>', 'worker threads')
        .argParser(intParser('--workers', 1, MAX_WORKERS))
        .default(Math.max(1, os.availableParallelism()), `the number of CPUs, ${Math.max(1, os.availableParallelism())}`),
    )
    .option('--out <dir>', 'directory for finding files', './findings')
    .option('--json', 'print one JSON object {programs, schedules, steps, findings, elapsedMs} on stdout', false)
    .option('--coverage', 'report ops, op pairs on one page and sites reached, next to the catalog', false)
    .option('--no-shrink', 'write findings as found, without shrinking')
    .action(async (opts: {
      variant: string;
      against?: string;
      programs: number;
      seed: number;
      schedules: number;
      strategy: string;
      depth: number;
      oracles: string;
      workers: number;
      out: string;
      json: boolean;
      coverage: boolean;
      shrink: boolean;
    }) => {
      const { exploreCommand } = await import('./explore.ts');
      setCode(await exploreCommand(opts));
    });
  // ---- end explore ----

  addFarmCommands(program, { setExitCode: setCode });
  return program;
}

/** Runs the CLI and returns its exit status; never throws. */

/** --preemptions: an integer bound, or "unbounded" (Infinity: every interleaving). */
function preemptionsParser(value: string): number {
  if (value.trim() === 'unbounded') return Number.POSITIVE_INFINITY;
  if (!/^[+-]?\d+$/.test(value.trim())) throw new InvalidArgumentError(`--preemptions must be an integer in [0, 20] or "unbounded", got "${value}".`);
  return intParser('--preemptions', 0, 20)(value);
}

export async function main(argv: readonly string[]): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv]);
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander already printed the message (or the help/version text).
      return e.exitCode === 0 ? EXIT.ok : EXIT.badInput;
    }
    if (e instanceof InputError || e instanceof UsageError) {
      // Problems quote the input: escaped, capped, at most 20 listed (farm/safeText.ts).
      const text = e instanceof InputError ? inputReport(e.message.split(':\n')[0], e.problems, 20, 2000) : escapeText(e.message);
      process.stderr.write(`racefarm: ${text}\n`);
      return EXIT.badInput;
    }
    process.stderr.write(`racefarm: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return EXIT.internal;
  }
}

process.exitCode = await main(process.argv);
