import type { CompiledScenario, Op } from '../scenario/compiled.ts';
import { compileScenario } from '../scenario/compile.ts';
import { CATALOG } from '../scenario/catalog.ts';
import { SITE_NAMES, type SiteName, type Sites } from '../variants/sites.ts';
import { runOnce } from '../run.ts';
import { ReplayChooser } from '../schedule/replay.ts';
import { RandomChooser } from '../schedule/random.ts';
import { drawableOps } from './choiceTable.ts';

/**
 * What a set of programs reaches, each item with the number of programs that reach it:
 * - ops: `kind:op` (cpu:write, kernel:reclaim, …);
 * - pairs: two ops of different threads on one page, `kind:op × kind:op` in sorted order (an op over
 *   every page, clear-refs, pairs with every page's ops);
 * - sites: the notifier call sites (sim/variants/sites.ts) the kernel paths consulted in a run.
 * Plain objects of counts, so a result crosses worker threads and merges by adding.
 */
export interface ProgramCoverage {
  programs: number;
  ops: Record<string, number>;
  pairs: Record<string, number>;
  sites: Record<string, number>;
}

export function emptyCoverage(): ProgramCoverage {
  return { programs: 0, ops: {}, pairs: {}, sites: {} };
}

function add(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
}

export function mergeCoverage(into: ProgramCoverage, from: ProgramCoverage): void {
  into.programs += from.programs;
  add(into.ops, from.ops);
  add(into.pairs, from.pairs);
  add(into.sites, from.sites);
}

function pagesOf(op: Op, pages: number): number[] {
  if (op.kind === 'clear-refs') return Array.from({ length: pages }, (_, i) => i);
  if (op.kind === 'ksm-merge') return [op.page, op.other];
  return [op.page];
}

/**
 * The sites a run of the scenario reads: the kernel paths look up `w.sites[name]` at the point the
 * site decides, so a Proxy over the assignment records them (a coverage-only run; the hot loop of
 * explore runs on the plain object).
 */
export function sitesReached(sc: CompiledScenario, sites: Sites, seeds: readonly number[] = [0, 1]): Set<SiteName> {
  const read = new Set<SiteName>();
  const proxy = new Proxy(sites, {
    get(target, key) {
      if (typeof key === 'string' && (SITE_NAMES as string[]).includes(key)) read.add(key as SiteName);
      return (target as Record<string | symbol, unknown>)[key];
    },
  });
  runOnce(sc, proxy, new ReplayChooser([]));
  for (const s of seeds) runOnce(sc, proxy, new RandomChooser(s));
  return read;
}

/** The coverage of one program: its ops and op pairs (static), and the sites three runs read. */
export function programCoverage(sc: CompiledScenario, sites: Sites): ProgramCoverage {
  const ops = new Set<string>();
  const byPage: Set<string>[][] = sc.pages.map(() => []);
  sc.threads.forEach((t, ti) => {
    for (const op of t.ops) {
      const name = `${t.on.kind}:${op.kind}`;
      ops.add(name);
      for (const p of pagesOf(op, sc.pages.length)) {
        (byPage[p][ti] ??= new Set()).add(name);
      }
    }
  });
  const pairs = new Set<string>();
  for (const perThread of byPage) {
    const ts = perThread.map((s, i) => [i, s] as const).filter(([, s]) => s !== undefined);
    for (let a = 0; a < ts.length; a++) {
      for (let b = a + 1; b < ts.length; b++) {
        for (const x of ts[a][1]) for (const y of ts[b][1]) pairs.add(x < y ? `${x} × ${y}` : `${y} × ${x}`);
      }
    }
  }
  const one = (s: Iterable<string>) => Object.fromEntries([...s].map((k) => [k, 1]));
  return { programs: 1, ops: one(ops), pairs: one(pairs), sites: one(sitesReached(sc, sites)) };
}

/** The same report over the built-in scenarios, under the given sites (what the catalog reaches). */
export function catalogCoverage(sites: Sites): ProgramCoverage {
  const out = emptyCoverage();
  for (const e of CATALOG) mergeCoverage(out, programCoverage(compileScenario(e.scenario), sites));
  return out;
}

/** Everything the generator can draw (every `kind:op`) and every site: the denominators of the report. */
export function coverageUniverse(): { ops: string[]; sites: string[] } {
  return { ops: drawableOps().map((u) => `${u.kind}:${u.op}`), sites: [...SITE_NAMES] };
}
