import assert from 'node:assert/strict';
import { ORACLES } from '../sim/oracles/violation.ts';
import {
  ALL_ORACLES,
  OBSERVABLE_ORACLES,
  ORACLE_CLASS,
  OracleSelectionError,
  oracleClass,
  parseOracleSelection,
  selectionText,
} from '../sim/oracles/classes.ts';
import { compileScenario } from '../sim/scenario/compile.ts';
import { catalogEntry } from '../sim/scenario/catalog.ts';
import { PRESETS } from '../sim/variants/presets.ts';
import { runSeeds } from '../sim/fuzz.ts';
import { exhaustive, exhaustiveFindings } from '../sim/schedule/exhaustive.ts';

/** Oracle classes (sim/oracles/classes.ts) and the `--oracles` run option honoured by sim. */
describe('oracle classes', () => {
  it('every oracle has a class: six observable, split-mapping invariant, step-budget a limit', () => {
    assert.deepEqual(Object.keys(ORACLE_CLASS).sort(), [...ORACLES].sort());
    assert.deepEqual(
      ORACLES.filter((o) => oracleClass(o) === 'observable').sort(),
      ['deadlock', 'lost-write', 'no-progress', 'soft-dirty-missed', 'stale-read', 'use-after-free'],
    );
    assert.equal(oracleClass('split-mapping'), 'invariant');
    assert.equal(oracleClass('step-budget'), 'limit');
  });

  it('parses observable, all and lists; names the entry that is not an oracle', () => {
    assert.equal(parseOracleSelection('all'), ALL_ORACLES);
    assert.deepEqual([...parseOracleSelection('observable')].sort(), [...OBSERVABLE_ORACLES].sort());
    assert.deepEqual([...parseOracleSelection('stale-read, split-mapping')].sort(), ['split-mapping', 'stale-read']);
    assert.throws(() => parseOracleSelection('stale-read,stale-reed'), (e: unknown) => e instanceof OracleSelectionError && /"stale-reed" is not an oracle/.test(e.message));
    assert.equal(selectionText(parseOracleSelection('observable')), 'observable');
    assert.equal(selectionText(parseOracleSelection('lost-write,deadlock')), 'deadlock,lost-write');
  });

  const entry = catalogEntry('mprotect-device-write')!;
  const sc = compileScenario(entry.scenario);
  const buggy = PRESETS.get(entry.buggyVariant)!;
  const random = { name: 'random', depth: 3, kSteps: 0 } as const;

  it('a finding carries its class (mprotect-device-write under its buggy variant: split-mapping, invariant)', () => {
    const r = runSeeds(sc, buggy, random, 0, 200);
    const f = r.findings.find((x) => x.oracle === 'split-mapping');
    assert.ok(f, `split-mapping expected, got ${JSON.stringify(r.byOracle)}`);
    assert.equal(f.class, 'invariant');
  });

  it('an oracle left out of the selection is no finding and no count (random and exhaustive)', () => {
    const all = runSeeds(sc, buggy, random, 0, 200);
    assert.ok((all.byOracle['split-mapping'] ?? 0) > 0);
    const obs = runSeeds(sc, buggy, random, 0, 200, undefined, { oracles: OBSERVABLE_ORACLES });
    assert.equal(obs.byOracle['split-mapping'], undefined);
    assert.deepEqual(obs.findings.map((f) => f.oracle), []);
    assert.equal(obs.schedules, all.schedules);
    // The exhaustive search with the observable oracles as its target finds nothing to stop at here.
    const ex = exhaustive(sc, buggy.sites, { bound: 2, reduction: true, stopAtFirst: true, maxSchedules: 200_000, target: [...OBSERVABLE_ORACLES] });
    assert.equal(ex.finding, null);
    assert.equal(ex.complete, true);
    const exAll = exhaustive(sc, buggy.sites, { bound: 2, reduction: true, stopAtFirst: true, maxSchedules: 200_000 });
    assert.deepEqual(exhaustiveFindings(sc, buggy, exAll).map((f) => [f.oracle, f.class]), [['split-mapping', 'invariant']]);
  });
});
