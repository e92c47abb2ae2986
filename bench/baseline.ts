import { CATALOG } from '../sim/scenario/catalog.ts';
import { compileScenario } from '../sim/scenario/compile.ts';
import { PRESETS } from '../sim/variants/presets.ts';
import { runOnce, type StepObserver } from '../sim/run.ts';
import { makeChooser, threadCount } from '../sim/schedule/strategy.ts';
import type { World } from '../sim/world.ts';

/**
 * The baseline of figure 1: "the same memory operations without scheduling or oracles".
 *
 * How it is built. One real run per seed (random strategy, seeds 0..runs-1, the scenario's buggy
 * preset) is recorded with an observer that, right after the World is built, replaces every typed
 * array reachable from it (frames, cells, generations, refcounts, PTE fields, every TLB / IOTLB / ATC
 * / spte array, notifier windows, the oracles' expectation arrays, …) with a Proxy that logs each
 * indexed read and write, in order. The log is flattened to one Int32Array of encoded accesses
 * (word address × 2 + is-write) into one flat memory that holds all those arrays side by side.
 *
 * What the baseline loop does. It replays those logs: for each access, a read of (or a write to)
 * that word of a flat Int32Array — the very state words the simulator touched, in the same order,
 * the same number of times — with nothing else: no generators, no scheduler, no enabled-set scan, no
 * gate checks, no oracle logic beyond the loads and stores the oracles themselves made, no World
 * allocation. Simulator steps/s ÷ baseline steps/s says how close the simulator is to the cost of
 * the memory work itself (1.0 would be no overhead at all).
 *
 * What it leaves out (so the baseline is, if anything, too fast, and the ratio conservative): state
 * that is not a typed array (lock owner fields, KVM's seq/count scalars, the PRI queue, label
 * strings), typed-array method calls (fill/set: counted as one access per element), and the cost of
 * building a World per run.
 */
export interface BaselineRow {
  scenario: string;
  variant: string;
  /** Recorded runs (seeds 0..runs-1, random strategy). */
  runs: number;
  steps: number;
  /** Logged typed-array reads + writes per simulated step. */
  accessesPerStep: number;
  writesShare: number;
  /** Replaying the logs: simulated steps per second the bare memory work allows (best of 5 windows). */
  baselineStepsPerSec: number;
  /** The same recorded seeds through runOnce (random strategy, no trace), steps per second (best of 5 windows). */
  simStepsPerSec: number;
  /** simStepsPerSec ÷ baselineStepsPerSec: the share of the bare memory speed the simulator reaches. */
  ratio: number;
  /** baselineStepsPerSec ÷ simStepsPerSec: how many times slower than the bare memory work. */
  slowdown: number;
}

type AnyTyped = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

const WRITE_METHODS = new Set(['fill', 'set', 'copyWithin', 'sort', 'reverse']);

/** Wraps the typed arrays of a World in logging proxies (see the comment above). */
class AccessRecorder implements StepObserver {
  /** Encoded accesses of the current run. */
  log: number[] = [];
  steps = 0;
  private base = 0;
  /** Words of flat memory the arrays need (max over runs). */
  words = 0;
  /** Every replacement made, to undo after the run: some arrays hang off objects that outlive a World. */
  private replaced: { obj: Record<string, unknown>; key: string; original: unknown }[] = [];

  /** Puts the original arrays back (call after each recorded run). */
  restore(): void {
    for (let i = this.replaced.length - 1; i >= 0; i--) {
      const r = this.replaced[i];
      r.obj[r.key] = r.original;
    }
    this.replaced = [];
  }

  init(w: World): void {
    this.base = 0;
    const seen = new Map<object, object>();
    const visited = new Set<object>();
    const skip = new Set(['scenario', 'sites', 'current', 'effects']);
    const visit = (obj: Record<string, unknown>, depth: number): void => {
      if (visited.has(obj) || depth > 5) return;
      visited.add(obj);
      for (const key of Object.keys(obj)) {
        if (skip.has(key)) continue;
        const v = obj[key];
        if (v === null || typeof v !== 'object') continue;
        if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
          let p = seen.get(v);
          if (p === undefined) {
            p = this.wrap(v as AnyTyped);
            seen.set(v, p);
          }
          this.replaced.push({ obj, key, original: v });
          obj[key] = p;
        } else if (Array.isArray(v)) {
          for (const x of v) if (x !== null && typeof x === 'object') visit(x as Record<string, unknown>, depth + 1);
        } else if (!(v instanceof Map) && !(v instanceof Set)) {
          visit(v as Record<string, unknown>, depth + 1);
        }
      }
    };
    visit(w as unknown as Record<string, unknown>, 0);
    this.words = Math.max(this.words, this.base);
  }

  step(): void {
    this.steps++;
  }

  private wrap(arr: AnyTyped): object {
    const base = this.base;
    this.base += arr.length;
    const log = () => this.log;
    return new Proxy(arr, {
      get(target, key) {
        if (typeof key === 'string') {
          const c = key.charCodeAt(0);
          if (c >= 48 && c <= 57) {
            log().push((base + Number(key)) * 2);
            return target[Number(key)];
          }
          if (key === 'length') return target.length;
        }
        const v = Reflect.get(target, key, target);
        if (typeof v === 'function') {
          const write = WRITE_METHODS.has(String(key)) ? 1 : 0;
          return (...args: unknown[]) => {
            const l = log();
            for (let i = 0; i < target.length; i++) l.push((base + i) * 2 + write);
            return (v as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return v;
      },
      set(target, key, value) {
        if (typeof key === 'string') {
          const c = key.charCodeAt(0);
          if (c >= 48 && c <= 57) {
            log().push((base + Number(key)) * 2 + 1);
            target[Number(key)] = value as number;
            return true;
          }
        }
        return Reflect.set(target, key, value, target);
      },
    });
  }
}

/** The baseline loop: replays encoded accesses against flat memory. Returns a checksum (keeps the JIT honest). */
function replay(ops: Int32Array, mem: Int32Array): number {
  let acc = 0;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    const a = op >> 1;
    if (op & 1) mem[a] = acc + i;
    else acc = (acc + mem[a]) | 0;
  }
  return acc;
}

/**
 * Steps per second of `work` (which returns the steps it ran): the best of five windows of
 * millis/5 each, so that a burst of other load on the machine does not decide the figure, for the
 * simulator and the baseline alike.
 */
function bestRate(millis: number, work: () => number): number {
  let best = 0;
  for (let w = 0; w < 5; w++) {
    let steps = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < millis / 5) {
      steps += work();
      t = performance.now();
    }
    best = Math.max(best, (steps / (t - t0)) * 1000);
  }
  return best;
}

/**
 * Figure 1's ratio, per built-in scenario (buggy preset). All simulator timings come first, then all
 * recordings: running the simulator over Proxy-wrapped arrays turns its inline caches megamorphic for
 * the rest of the process, so nothing may be timed after the first recording (bench/pool.ts gives
 * the process no clean task afterwards).
 */
export function measureBaseline(millis: number, runs = 300): BaselineRow[] {
  const rows: BaselineRow[] = [];
  let sink = 0;
  const setups = CATALOG.map((entry) => {
    const sc = compileScenario(entry.scenario);
    const variant = PRESETS.get(entry.buggyVariant)!;
    return { sc, variant, threads: threadCount(sc) };
  });

  // 1. The simulator on seeds 0..runs-1 (random strategy, no observer, no trace).
  const sim = setups.map(({ sc, variant, threads }) => {
    const runAll = (): number => {
      let s = 0;
      for (let seed = 0; seed < runs; seed++) s += runOnce(sc, variant.sites, makeChooser({ name: 'random', depth: 3, kSteps: 1 }, seed, threads)).steps;
      return s;
    };
    const steps = runAll();
    for (let i = 0; i * runs < 3000; i++) runAll(); // warm-up (JIT): ~3,000 runs, as measureSimSpeed does
    return { steps, simStepsPerSec: bestRate(millis, runAll) };
  });

  // 2. Record the same runs' accesses, then replay them as often as fits in `millis`.
  setups.forEach(({ sc, variant, threads }, i) => {
    const rec = new AccessRecorder();
    let steps = 0;
    for (let seed = 0; seed < runs; seed++) {
      try {
        steps += runOnce(sc, variant.sites, makeChooser({ name: 'random', depth: 3, kSteps: 1 }, seed, threads), { observer: rec }).steps;
      } finally {
        rec.restore();
      }
    }
    if (steps !== sim[i].steps) throw new Error(`baseline: ${sc.name}: recorded runs took a different number of steps`);
    const ops = Int32Array.from(rec.log);
    const writes = ops.reduce((a, op) => a + (op & 1), 0);
    const mem = new Int32Array(rec.words + 1);
    for (let w = 0; w < 20; w++) sink ^= replay(ops, mem); // warm-up
    const baselineStepsPerSec = bestRate(millis, () => {
      sink ^= replay(ops, mem);
      return steps;
    });
    const simStepsPerSec = sim[i].simStepsPerSec;
    rows.push({
      scenario: sc.name,
      variant: variant.name,
      runs,
      steps,
      accessesPerStep: ops.length / steps,
      writesShare: writes / ops.length,
      baselineStepsPerSec,
      simStepsPerSec,
      ratio: simStepsPerSec / baselineStepsPerSec,
      slowdown: baselineStepsPerSec / simStepsPerSec,
    });
  });
  if (sink === 0.5) console.error(sink); // never true; uses the checksum
  return rows;
}
