import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { CATALOG } from '../sim/scenario/catalog.ts';
import { compileScenario } from '../sim/scenario/compile.ts';
import { parseVariantJson } from '../sim/variants/resolve.ts';
import { PRESETS } from '../sim/variants/presets.ts';
import { firstCatalogFinding } from '../sim/shrink/catalogFinding.ts';
import { shrinkFinding } from '../sim/shrink/shrink.ts';
import { SCHEMA_FILES, schemaText } from '../schemas/zod.ts';

/**
 * The JSON Schema files under schemas/ (for editors) are generated from the zod schemas and agree
 * with validation: they accept every built-in scenario, real finding files and preset-based variant
 * files, and reject what compileScenario / parseVariantJson reject (as far as a schema can say it:
 * the cross-references, e.g. an op naming an unknown page, are beyond JSON Schema).
 */

const ajv = new Ajv2020({ allErrors: true, strict: false });
const load = (f: string) => ajv.compile(JSON.parse(readFileSync(`schemas/${f}`, 'utf8')) as object);
const scenarioOk = load('scenario.schema.json');
const variantOk = load('variant.schema.json');
const findingOk = load('finding.schema.json');

const base = () => structuredClone(CATALOG[0].scenario) as Record<string, any>;
const threads = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `t${i}`, on: 'cpu', ops: [['read', 'A', 0]] }));

/** Scenarios validation rejects, each for one reason a JSON Schema can express. */
const BAD_SCENARIOS: [string, (s: Record<string, any>) => void][] = [
  ['no name', (s) => delete s.name],
  ['a 33-character name', (s) => (s.name = 'a'.repeat(33))],
  ['a name starting with a digit', (s) => (s.name = '1abc')],
  ['an unknown top-level key', (s) => (s.colour = 'red')],
  ['too few frames', (s) => (s.world.frames = 3)],
  ['an unknown IOMMU', (s) => (s.world.iommu = 'powerpc')],
  ['a fractional cell count', (s) => (s.world.cells = 2.5)],
  ['an unknown world key', (s) => (s.world.tlbs = 2)],
  ['no pages', (s) => (s.pages = {})],
  ['27 pages', (s) => (s.pages = Object.fromEntries(Array.from({ length: 27 }, (_, i) => [`P${i}`, {}])))],
  ['a page name with a dash', (s) => (s.pages['A-1'] = {})],
  ['an unknown page key', (s) => (s.pages.A.huge = true)],
  ['a device with an unknown key', (s) => (s.devices[0].pasid = 1)],
  ['no threads', (s) => (s.threads = [])],
  ['17 threads', (s) => (s.threads = threads(17))],
  ['65 ops in a thread', (s) => (s.threads[0].ops = Array.from({ length: 65 }, () => ['read', 'A', 0]))],
  ['an unknown op', (s) => (s.threads[0].ops = [['fork', 'A']])],
  ['an empty op', (s) => (s.threads[0].ops = [[]])],
  ['an unknown placement', (s) => (s.threads[0].on = 'gpu')],
  ['a thread without ops', (s) => delete s.threads[0].ops],
];

describe('JSON Schemas (schemas/)', function () {
  this.timeout(60_000);

  it('are up to date with the zod schemas (npm run schemas regenerates them)', () => {
    for (const f of Object.keys(SCHEMA_FILES) as (keyof typeof SCHEMA_FILES)[]) {
      assert.equal(readFileSync(`schemas/${f}`, 'utf8'), schemaText(f), `schemas/${f} is stale: run npm run schemas`);
    }
  });

  it('accept every built-in scenario, as written and with defaults filled in', () => {
    for (const e of CATALOG) {
      assert.ok(scenarioOk(e.scenario), `${e.scenario.name}: ${ajv.errorsText(scenarioOk.errors)}`);
      const filled = compileScenario(e.scenario).source;
      assert.ok(scenarioOk(filled), `${e.scenario.name} (filled): ${ajv.errorsText(scenarioOk.errors)}`);
    }
  });

  it('accept a minimal scenario that leans on every default', () => {
    const s = { name: 'tiny', pages: { A: {} }, threads: [{ name: 'c', on: 'cpu', ops: [['write', 'A', 0, 1]] }] };
    compileScenario(s);
    assert.ok(scenarioOk(s), ajv.errorsText(scenarioOk.errors));
  });

  for (const [what, change] of BAD_SCENARIOS) {
    it(`reject a scenario with ${what}, as validation does`, () => {
      const s = base();
      change(s);
      assert.throws(() => compileScenario(s), /invalid scenario/);
      assert.equal(scenarioOk(s), false, `the schema accepted a scenario with ${what}`);
    });
  }

  it('accept variant files built on every preset, and a file with no base', () => {
    for (const name of PRESETS.keys()) {
      const v = { base: name, sites: { 'cow.clearPte': 'clear-flush' }, name: `${name}-x` };
      parseVariantJson(v, 'f');
      assert.ok(variantOk(v), ajv.errorsText(variantOk.errors));
    }
    assert.ok(variantOk({ sites: { 'kvm.retryCheck': 'false' } }));
  });

  const BAD_VARIANTS: [string, unknown][] = [
    ['an unknown key', { base: 'v4.15', site: {} }],
    ['an unknown base', { base: 'v9.9' }],
    ['an unknown site', { sites: { 'cow.clearPTE': 'clear-flush' } }],
    ['an unknown choice', { sites: { 'cow.clearPte': 'flush' } }],
    ['an empty name', { name: '' }],
    ['a 65-character name', { name: 'v'.repeat(65) }],
    ['sites as an array', { sites: [] }],
    ['an array', []],
  ];
  for (const [what, v] of BAD_VARIANTS) {
    it(`reject a variant file with ${what}, as validation does`, () => {
      assert.throws(() => parseVariantJson(v, 'f'), /invalid variant/);
      assert.equal(variantOk(v), false);
    });
  }

  it('accept real finding files, raw and shrunk, and reject broken ones', () => {
    const raw = firstCatalogFinding(CATALOG.find((e) => e.scenario.name === 'zap-gather-free')!);
    const shrunk = shrinkFinding(raw).finding;
    for (const f of [raw, shrunk]) {
      const json = JSON.parse(JSON.stringify(f)) as Record<string, unknown>;
      assert.ok(findingOk(json), ajv.errorsText(findingOk.errors));
    }
    const json = JSON.parse(JSON.stringify(shrunk)) as Record<string, any>;
    for (const broken of [
      { ...json, format: 'racefarm-finding/0' },
      { ...json, decisions: [-1] },
      { ...json, oracle: 'data-race' },
      { ...json, variant: { name: 'x', sites: { 'cow.clearPte': 'clear-flush' } } },
      (({ simVersion: _s, ...rest }) => rest)(json),
    ]) {
      assert.equal(findingOk(broken), false, JSON.stringify(Object.keys(broken)));
    }
  });
});
