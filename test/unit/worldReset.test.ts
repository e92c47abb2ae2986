import assert from 'node:assert/strict';
import { compile, sitesOf } from './helpers.ts';
import { CATALOG } from '../../sim/scenario/catalog.ts';
import { execute, runOnce, Simulator } from '../../sim/run.ts';
import { World } from '../../sim/world.ts';
import { WorldSnapshot } from '../../sim/worldSnapshot.ts';
import { RandomChooser } from '../../sim/schedule/random.ts';
import { PctChooser } from '../../sim/schedule/pct.ts';
import { estimateSteps, threadCount } from '../../sim/schedule/strategy.ts';
import { ReplayChooser } from '../../sim/schedule/replay.ts';

/** sim/worldSnapshot.ts + Simulator: a reset World runs every schedule exactly as a freshly built one. */
describe('World reset (Simulator)', () => {
  for (const entry of CATALOG) {
    const name = entry.scenario.name;
    it(`${name}: 40 runs on one reset World equal 40 runs on fresh Worlds (buggy and correct variant, traced and not)`, () => {
      const sc = compile(entry.scenario);
      for (const preset of [entry.buggyVariant, entry.correct[0]]) {
        const sites = sitesOf(preset);
        const sim = new Simulator(sc, sites);
        const k = estimateSteps(sc, sites);
        for (let seed = 0; seed < 40; seed++) {
          const trace = seed % 5 === 0;
          const mk = () => (seed % 2 === 0 ? new RandomChooser(seed) : new PctChooser(seed, threadCount(sc), 3, k));
          const fresh = runOnce(sc, sites, mk(), { trace });
          const reset = sim.run(mk(), { trace });
          assert.deepEqual(reset, fresh, `${preset} seed ${seed}`);
        }
      }
    });
  }

  it('puts back every kind of state: typed arrays, scalars, replaced references, arrays, Maps and Sets', () => {
    const entry = CATALOG.find((e) => e.scenario.name === 'cow-two-pages')!;
    const sc = compile(entry.scenario);
    const w = new World(sc, sitesOf(entry.buggyVariant), false);
    const snap = new WorldSnapshot(w);
    const before = JSON.stringify(dump(w));
    // Run a whole racy schedule on it: PTEs, frames, TLBs, oracles, Maps created on demand all change.
    const decisions = execute(w, new RandomChooser(3)).decisions;
    w.pt.kind[0] = 3;
    w.mmapSem.readers = 5;
    w.touchedList.push(1, 1, 1);
    w.oracles.report('lost-write', 0, 'x');
    assert.notEqual(JSON.stringify(dump(w)), before);
    snap.restore();
    assert.equal(JSON.stringify(dump(w)), before);
    assert.ok(snap.bytes > 0 && snap.bytes < 4096, `${snap.bytes} bytes`);
    assert.ok(decisions.length > 0);
    // And the world still runs like a fresh one.
    assert.deepEqual(execute(w, new ReplayChooser(decisions)), runOnce(sc, sitesOf(entry.buggyVariant), new ReplayChooser(decisions)));
  });
});

/** Every own property reachable from the World, typed arrays as plain arrays (cycles cut). */
function dump(root: object): unknown {
  const seen = new Set<object>();
  const go = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null) return typeof v === 'function' ? 'fn' : v;
    if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>);
    if (seen.has(v)) return '<seen>';
    seen.add(v);
    if (v instanceof Map) return [...v.entries()].map(([k, x]) => [go(k), go(x)]);
    if (v instanceof Set) return [...v].map(go);
    if (Array.isArray(v)) return v.map(go);
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) if (k !== 'scenario' && k !== 'sites') out[k] = go((v as Record<string, unknown>)[k]);
    return out;
  };
  return go(root);
}
