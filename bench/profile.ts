import { Session } from 'node:inspector/promises';
import { fileURLToPath } from 'node:url';
import { catalogEntry } from '../sim/scenario/catalog.ts';
import { compileScenario } from '../sim/scenario/compile.ts';
import { PRESETS } from '../sim/variants/presets.ts';
import { runSeeds } from '../sim/fuzz.ts';
import { estimateSteps } from '../sim/schedule/strategy.ts';

export interface ProfileShare {
  /** A source folder or file of the project (sim/kernel, sim/run.ts, …), or a V8 bucket ((garbage collector), node internals). */
  where: string;
  /** Share of the CPU samples whose innermost frame is there (self time). */
  share: number;
}

export interface ProfileResult {
  scenario: string;
  variant: string;
  ms: number;
  samples: number;
  shares: ProfileShare[];
  /** The hottest functions by self time. */
  top: { fn: string; where: string; share: number }[];
}

interface CpuNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/**
 * Where the simulator's time goes (issue 2's bench bullet): a V8 CPU profile (node:inspector,
 * sampling every 100 µs) of fuzzing one scenario with the random strategy for `millis`, self time
 * summed per project folder (sim/kernel, sim/oracles, …) and per function.
 */
export async function profileSim(millis: number, scenario = 'cow-two-pages'): Promise<ProfileResult> {
  const entry = catalogEntry(scenario)!;
  const sc = compileScenario(entry.scenario);
  const variant = PRESETS.get(entry.buggyVariant)!;
  const spec = { name: 'random' as const, depth: 3, kSteps: estimateSteps(sc, variant.sites) };
  runSeeds(sc, variant, spec, 1_000_000, 3000); // warm-up (JIT)
  const root = fileURLToPath(new URL('..', import.meta.url));
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  const t0 = performance.now();
  let seed = 0;
  while (performance.now() - t0 < millis) {
    runSeeds(sc, variant, spec, seed, 500);
    seed += 500;
  }
  const ms = performance.now() - t0;
  const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: { nodes: CpuNode[] } };
  session.disconnect();

  const bucket = (url: string, fn: string): string => {
    if (url === '') return fn.startsWith('(') ? fn : '(native / builtins)';
    let path = url.startsWith('file://') ? fileURLToPath(url) : url;
    if (!path.startsWith(root)) return url.startsWith('node:') ? '(node internals)' : '(other)';
    path = path.slice(root.length);
    if (path.startsWith('node_modules/')) return `node_modules/${path.split('/')[1]}`;
    const parts = path.split('/');
    // Run compiled (dist/), a file is named by its TypeScript source, not its .js output.
    return parts.length > 2 ? `${parts[0]}/${parts[1]}` : path.replace(/\.js$/, '.ts');
  };
  const byWhere = new Map<string, number>();
  const byFn = new Map<string, { where: string; hits: number }>();
  let total = 0;
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    if (hits === 0) continue;
    total += hits;
    const where = bucket(n.callFrame.url, n.callFrame.functionName);
    byWhere.set(where, (byWhere.get(where) ?? 0) + hits);
    const fn = `${n.callFrame.functionName || '(anonymous)'}`;
    const key = `${fn}\u0000${where}`;
    const cur = byFn.get(key) ?? { where, hits: 0 };
    cur.hits += hits;
    byFn.set(key, cur);
  }
  // The idle bucket is the profiler's own bookkeeping between samples of this thread.
  const shares = [...byWhere].map(([where, hits]) => ({ where, share: hits / total })).sort((a, b) => b.share - a.share);
  const top = [...byFn]
    .map(([key, v]) => ({ fn: key.split('\u0000')[0], where: v.where, share: v.hits / total }))
    .sort((a, b) => b.share - a.share)
    .slice(0, 12);
  return { scenario: sc.name, variant: variant.name, ms, samples: total, shares, top };
}
