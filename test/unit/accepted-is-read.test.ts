import assert from 'node:assert/strict';
import { CATALOG } from '../../sim/scenario/catalog.ts';
import { compileScenario } from '../../sim/scenario/compile.ts';
import type { ScenarioInput } from '../../sim/scenario/schema.ts';
import { PRESETS } from '../../sim/variants/presets.ts';
import { SITES, SITE_NAMES, type SiteName, type Sites } from '../../sim/variants/sites.ts';
import { runOnce } from '../../sim/run.ts';
import { RandomChooser } from '../../sim/schedule/random.ts';
import { KERNEL_OPS, ACCESS_OPS } from '../../sim/scenario/compile.ts';

/**
 * Nothing is accepted and then ignored (issue: "No op, page option or site may be accepted and then
 * ignored"). For every site and every one of its choices there is a built-in scenario and a seed where
 * that choice, against the preset's, changes the run (its trace: the steps, their labels and effects,
 * the verdicts); likewise every world and page option of the scenario format, and every op. A choice
 * that cannot change anything must be listed in NO_EFFECT with the reason.
 */
const SEEDS = 16;
const BASES = ['v4.13', 'v4.10', 'v4.15', 'v6.6'] as const;

/**
 * Site choices whose effect needs a schedule random seeds of these scenarios do not reach, with the
 * test that shows it on a recorded schedule (both choices), or choices that cannot change a run, with why.
 */
const NO_EFFECT: Partial<Record<SiteName, Record<string, string>>> = {
  'ksm.flushPending': {
    check: 'needs a read-only clean PTE with a stale writable TLB entry while an mmu_gather is in flight (4 preemptions): test/unit/ksm.test.ts "write_protect_page and a pending TLB flush" replays one under both choices',
    none: 'same: test/unit/ksm.test.ts "write_protect_page and a pending TLB flush"',
  },
};

function fingerprint(input: ScenarioInput, sites: Sites, seed: number): string {
  const sc = compileScenario(input);
  const r = runOnce(sc, sites, new RandomChooser(seed), { trace: true });
  return JSON.stringify([r.steps, r.trace, r.violations.map((v) => v.message)]);
}

function differs(input: ScenarioInput, a: Sites, b: Sites): boolean {
  for (let seed = 0; seed < SEEDS; seed++) if (fingerprint(input, a, seed) !== fingerprint(input, b, seed)) return true;
  return false;
}

/**
 * The catalog scenarios, each with its own world (ecapDis, IOMMU kind, KVM) as written, and one small
 * program for a site no catalog race needs: replace_page with a device mapping Q (ksm.replace).
 */
const SCENARIOS: ScenarioInput[] = [
  ...CATALOG.map((e) => e.scenario),
  {
    name: 'ksm-replace-device-reads',
    pages: { A: { cells: [7, 0, 0, 0] }, B: { cells: [7, 0, 0, 0] } },
    devices: [{ name: 'dev0', ats: true }],
    threads: [
      { name: 'dev0', on: 'device:dev0', ops: [['read', 'B', 0], ['read', 'B', 0]] },
      { name: 'k0', on: 'kernel', ops: [['ksm-merge', 'A', 'B']] },
    ],
  },
];

describe('accepted means read: every site choice, world/page option and op changes some run', function () {
  this.timeout(120_000);

  for (const site of SITE_NAMES) {
    for (const choice of SITES[site].choices as readonly string[]) {
      const why = NO_EFFECT[site]?.[choice];
      it(`${site} = ${choice}${why ? ' (documented: no effect)' : ''}`, () => {
        if (why) return;
        let found = '';
        search: for (const base of BASES) {
          const preset = PRESETS.get(base)!.sites;
          const others = (SITES[site].choices as readonly string[]).filter((c) => c !== choice);
          for (const other of others) {
            const a = { ...preset, [site]: choice } as Sites;
            const b = { ...preset, [site]: other } as Sites;
            for (const input of SCENARIOS) {
              if (differs(input, a, b)) {
                found = `${input.name} under ${base} (${choice} vs ${other})`;
                break search;
              }
            }
          }
        }
        assert.ok(found, `no built-in scenario changes when ${site} is ${choice}: read it, or document it in NO_EFFECT`);
      });
    }
  }

  // World and page options: each one, changed on a scenario that uses what it controls, changes the run.
  const base = (name: string) => structuredClone(CATALOG.find((e) => e.scenario.name === name)!.scenario) as ScenarioInput & { world: Record<string, unknown> };
  const v413 = PRESETS.get('v4.13')!.sites;
  const OPTION_CASES: [string, () => [ScenarioInput, ScenarioInput, Sites]][] = [
    ['world.ptLock', () => { const a = base('cow-two-pages'); const b = base('cow-two-pages'); b.world.ptLock = 'single'; return [a, b, v413]; }],
    ['world.iommu', () => { const a = base('cow-two-pages'); const b = base('cow-two-pages'); b.world.iommu = 'intel-svm'; return [a, b, v413]; }],
    ['world.kvm', () => { const a = base('cow-two-pages'); const b = base('cow-two-pages'); b.world.kvm = true; return [a, b, v413]; }],
    ['world.maxSteps', () => { const a = base('cow-two-pages'); const b = base('cow-two-pages'); b.world.maxSteps = 20; return [a, b, v413]; }],
    ['world.maxRetries', () => {
      const a: ScenarioInput & { world: Record<string, unknown> } = { name: 'pri-once', world: { maxRetries: 8 }, pages: { A: { swapped: true } }, devices: [{ name: 'dev0' }], threads: [{ name: 'dev0', on: 'device:dev0', ops: [['read', 'A', 0]] }] };
      return [a, { ...a, world: { maxRetries: 0 } }, v413];
    }],
    ['world.ecapDis', () => { const a = base('intel-svm-cow'); const b = base('intel-svm-cow'); b.world.ecapDis = false; return [a, b, v413]; }],
    ['pages.cow', () => { const a = base('cow-two-pages'); const b = base('cow-two-pages'); b.pages = { A: { cells: [0, 0, 0, 0] }, B: { cells: [0, 0, 0, 0], cow: true } }; return [a, b, v413]; }],
    ['pages.swapped', () => { const a = base('migrate-device-write'); const b = base('migrate-device-write'); b.pages = { A: { cells: [1, 0, 0, 0], swapped: true } }; return [a, b, v413]; }],
    ['pages.file', () => { const a = base('mprotect-soft-dirty-file'); const b = base('mprotect-soft-dirty-file'); b.pages = { A: { cells: [0, 0, 0, 0] } }; return [a, b, v413]; }],
    ['pages.apicAccess', () => { const a = base('kvm-apic-access-migrate'); const b = base('kvm-stale-spte'); return [a, { ...b, name: 'x' }, v413]; }],
    ['pages.cells', () => { const a = base('ksm-device-write'); const b = base('ksm-device-write'); b.pages = { A: { cells: [7, 0, 0, 0] }, B: { cells: [8, 0, 0, 0] } }; return [a, b, v413]; }],
  ];
  for (const [option, make] of OPTION_CASES) {
    it(`${option} changes the run`, () => {
      const [a, b, sites] = make();
      assert.ok(differs(a, sites, sites) === false, 'runs are deterministic');
      let changed = false;
      for (let seed = 0; seed < SEEDS && !changed; seed++) changed = fingerprint(a, sites, seed) !== fingerprint(b, sites, seed);
      assert.ok(changed, `${option} is accepted but the run does not change`);
    });
  }

  // world.frames and world.cells size the machine: compile refuses a scenario they cannot hold (fewer
  // than 2 × pages + 2 frames, a cell index or content beyond world.cells), and above that no path runs
  // out of frames or reads a cell nobody wrote, so a larger value changes no run — by design, not ignored.
  it('world.frames and world.cells are read: compile refuses what they cannot hold', () => {
    const a = base('ksm-device-write');
    a.world.frames = 5;
    assert.throws(() => compileScenario(a), /world\.frames: 5 is too few for 2 pages \(need at least 6\)/);
    const b = base('migrate-device-write');
    b.world.cells = 2;
    assert.throws(() => compileScenario(b), /pages\.A\.cells: has 4 values, world\.cells is 2/);
  });

  it('every op of the format is used by a built-in scenario (so each runs its kernel path somewhere)', () => {
    const used = new Set(SCENARIOS.flatMap((s) => s.threads.flatMap((t) => t.ops.map((o) => String(o[0])))));
    for (const op of [...KERNEL_OPS, ...ACCESS_OPS]) assert.ok(used.has(op), `op ${op} is accepted but no built-in scenario uses it`);
  });
});
