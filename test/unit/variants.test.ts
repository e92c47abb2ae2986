import assert from 'node:assert/strict';
import { parseVariantJson, resolvePreset, siteDiff } from '../../sim/variants/resolve.ts';
import { PRESETS, presetNames } from '../../sim/variants/presets.ts';
import { SITES, SITE_NAMES, isChoiceOf, isSiteName } from '../../sim/variants/sites.ts';
import { InputError } from '../../sim/scenario/errors.ts';
import { CATALOG } from '../../sim/scenario/catalog.ts';

function problemsOf(input: unknown): readonly string[] {
  try {
    parseVariantJson(input, 'file.json');
  } catch (e) {
    assert.ok(e instanceof InputError, `expected InputError, got ${String(e)}`);
    return e.problems;
  }
  assert.fail('the variant was accepted, but it should have been rejected');
}

function onlyProblem(input: unknown): string {
  const ps = problemsOf(input);
  assert.equal(ps.length, 1, JSON.stringify(ps));
  return ps[0];
}

describe('variants/resolve: parseVariantJson', () => {
  it('base preset + overrides: the override wins, every other site is the base', () => {
    const v = parseVariantJson({ base: 'v4.15', sites: { 'cow.clearPte': 'clear-flush' } }, 'file.json');
    const base = PRESETS.get('v4.15')!.sites;
    for (const k of SITE_NAMES) assert.equal(v.sites[k], k === 'cow.clearPte' ? 'clear-flush' : base[k], k);
    assert.equal(v.name, 'file.json', 'named after the file when no name is given');
    assert.ok(v.description.includes('v4.15') && v.description.includes('cow.clearPte=clear-flush'), v.description);
  });

  it('does not modify the base preset', () => {
    const before = { ...PRESETS.get('v4.13')!.sites };
    parseVariantJson({ base: 'v4.13', sites: { 'zap.gatherInvalidate': 'range-end' } }, 'x');
    assert.deepEqual({ ...PRESETS.get('v4.13')!.sites }, before);
  });

  it('defaults to base v4.13 with no changes', () => {
    const v = parseVariantJson({}, 'f');
    assert.deepEqual(v.sites, PRESETS.get('v4.13')!.sites);
  });

  it('takes name and description from the file', () => {
    const v = parseVariantJson({ name: 'mine', description: 'my variant', sites: {} }, 'f');
    assert.equal(v.name, 'mine');
    assert.equal(v.description, 'my variant');
  });

  it('a true/false site takes a JSON boolean as well as the string', () => {
    const b = parseVariantJson({ base: 'v6.6', sites: { 'iommu.notifyOnUpgrade': false, 'kvm.retryCheck': false } }, 'f');
    assert.equal(b.sites['iommu.notifyOnUpgrade'], 'false');
    assert.equal(b.sites['kvm.retryCheck'], 'false');
    const s = parseVariantJson({ base: 'v6.6', sites: { 'iommu.notifyOnUpgrade': 'false' } }, 'f');
    assert.deepEqual(s.sites, parseVariantJson({ base: 'v6.6', sites: { 'iommu.notifyOnUpgrade': false, 'kvm.retryCheck': 'true' } }, 'f').sites);
  });

  it('a JSON boolean for a site whose choices are not true/false is refused, naming the site', () => {
    const p = onlyProblem({ sites: { 'unmap.notify': true } });
    assert.ok(p.startsWith('sites.unmap.notify: true is not allowed'), p);
  });

  it('unknown site: the message lists every site', () => {
    const p = onlyProblem({ sites: { 'cow.bogus': 'x' } });
    assert.ok(p.startsWith('sites.cow.bogus: unknown site'), p);
    for (const k of SITE_NAMES) assert.ok(p.includes(k), `lists ${k}`);
  });

  it('bad choice: the message lists the allowed choices of that site', () => {
    const p = onlyProblem({ sites: { 'unmap.notify': 'sometimes' } });
    assert.ok(p.startsWith('sites.unmap.notify: "sometimes" is not allowed'), p);
    assert.ok(p.includes(`choices: ${SITES['unmap.notify'].choices.join(', ')}`), p);
  });

  it('unknown key', () => {
    const p = onlyProblem({ base: 'v4.13', extra: 1 });
    assert.ok(p.startsWith('extra: unknown key'), p);
    assert.ok(p.includes('base, sites, name, description'), p);
  });

  it('bad base: the message lists the presets', () => {
    const p = onlyProblem({ base: 'v9.9' });
    assert.ok(p.startsWith('base: "v9.9" is not a preset'), p);
    for (const n of presetNames()) assert.ok(p.includes(n), `lists ${n}`);
    assert.ok(onlyProblem({ base: 413 }).startsWith('base: 413 is not a preset'));
  });

  it('sites must be an object, the top level must be an object', () => {
    assert.ok(onlyProblem({ sites: ['cow.clearPte'] }).startsWith('sites: must be an object'));
    assert.ok(onlyProblem({ sites: 'x' }).startsWith('sites: must be an object'));
    for (const top of [null, [], 'v4.13', 3]) assert.ok(onlyProblem(top).startsWith('(top level): must be an object'));
  });

  it('a name must be 1 to 64 characters', () => {
    assert.ok(onlyProblem({ name: '' }).startsWith('name:'));
    assert.ok(onlyProblem({ name: 'x'.repeat(65) }).startsWith('name:'));
    assert.equal(parseVariantJson({ name: 'x'.repeat(64) }, 'f').name, 'x'.repeat(64));
  });

  it('reports every problem at once', () => {
    const ps = problemsOf({ base: 'nope', extra: 1, sites: { 'cow.clearPte': 'x', 'no.site': 'y' } });
    assert.equal(ps.length, 4, JSON.stringify(ps));
  });
});

describe('variants/resolve: resolvePreset and siteDiff', () => {
  it('resolvePreset returns the preset, or an InputError listing presets', () => {
    assert.equal(resolvePreset('v4.15'), PRESETS.get('v4.15'));
    assert.throws(
      () => resolvePreset('v5'),
      (e: unknown) => e instanceof InputError && e.problems[0].startsWith('variant: "v5" is not a preset') && e.problems[0].includes('v4.13'),
    );
  });

  it('siteDiff lists exactly the differing sites', () => {
    const a = PRESETS.get('v4.13')!.sites;
    assert.deepEqual(siteDiff(a, a), {});
    assert.deepEqual(siteDiff(PRESETS.get('no-gather-invalidate')!.sites, a), { 'zap.gatherInvalidate': 'range-end' });
  });
});

describe('variants/presets', () => {
  for (const [name, v] of PRESETS) {
    it(`${name} assigns every site in SITES a valid choice, and nothing else`, () => {
      assert.equal(v.name, name);
      assert.ok(v.description.length > 0);
      assert.deepEqual(Object.keys(v.sites).sort(), [...SITE_NAMES].sort());
      for (const k of SITE_NAMES) assert.ok(isChoiceOf(k, v.sites[k]), `${name}: ${k}=${String(v.sites[k])} is not one of ${SITES[k].choices.join(', ')}`);
    });
  }

  // The first choice of each site is the correct behaviour. v4.13 takes it everywhere but
  // iommu.notifyOnUpgrade: no v4.x kernel notified secondary TLBs of a read-only → writable upgrade
  // (wp_page_reuse → ptep_set_access_flags); v6.6 does, through arch_invalidate_secondary_tlbs().
  // mprotect.writeUpgrade: v4.13's change_pte_range has the inverted soft-dirty test that
  // 76aefad628aa fixed in v6.0 (a real bug, kept).
  // kvm.apicReload: v4.13 requests no APIC-access page reload at all (369ea8242c0f removed
  // ->invalidate_page; bugzilla 197951), fixed for good by e649b3f0188f / v6.6's retry.
  const V4_13_BUGS: readonly string[] = ['iommu.notifyOnUpgrade', 'mprotect.writeUpgrade', 'kvm.apicReload'];
  it('v4.13 takes the first (correct) choice of every site except those where v4.13 really had the bug', () => {
    const v = PRESETS.get('v4.13')!.sites;
    for (const k of SITE_NAMES) if (!V4_13_BUGS.includes(k)) assert.equal(v[k], SITES[k].choices[0], k);
    assert.equal(v['mprotect.writeUpgrade'], 'dirty-accountable');
    assert.equal(PRESETS.get('v6.6')!.sites['mprotect.writeUpgrade'], SITES['mprotect.writeUpgrade'].choices[0]);
    assert.equal(v['iommu.notifyOnUpgrade'], 'false');
    assert.equal(SITES['iommu.notifyOnUpgrade'].choices[0], 'true');
    assert.equal(PRESETS.get('v6.6')!.sites['iommu.notifyOnUpgrade'], 'arm64');
    assert.equal(v['kvm.apicReload'], 'none');
    assert.equal(PRESETS.get('v6.6')!.sites['kvm.apicReload'], SITES['kvm.apicReload'].choices[0]);
  });

  it('the presets of docs/variants.md exist and presetNames lists them all', () => {
    for (const n of ['v4.11', 'v4.13', 'v4.15', 'v6.6', 'range-end-only', 'no-gather-invalidate']) assert.ok(PRESETS.has(n), n);
    assert.deepEqual([...presetNames()].sort(), [...PRESETS.keys()].sort());
  });

  it('every site is documented and has at least two choices', () => {
    for (const k of SITE_NAMES) {
      assert.ok(isSiteName(k));
      assert.ok(SITES[k].doc.length > 10, k);
      assert.ok(SITES[k].choices.length >= 2, k);
    }
    assert.equal(isSiteName('toString'), false, 'inherited properties are not sites');
  });

  it('the buggy variant of every catalog entry is a preset', () => {
    for (const e of CATALOG) assert.ok(PRESETS.has(e.buggyVariant), `${e.scenario.name}: ${e.buggyVariant}`);
  });
});
