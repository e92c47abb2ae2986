import assert from 'node:assert/strict';
import { assertInOrder, compile, labels, labelsOf, oracles, readValues, replay, rows } from './helpers.ts';
import { PRESETS } from '../../sim/variants/presets.ts';
import { parseVariantJson } from '../../sim/variants/resolve.ts';
import { catalogEntry } from '../../sim/scenario/catalog.ts';

/**
 * Device accesses (sim/kernel/access.ts): ATC hit, ATS translation by a hardware walk, PRI page
 * requests served by the IOMMU fault worker (`iommu-fault`, the last thread), and maxRetries.
 */

/** A swapped page A (PTE is a swap entry) read and written by a device. */
function swappedDevice() {
  return compile({
    name: 'pri-swap',
    pages: { A: { cells: [4, 5, 6, 7], swapped: true } },
    devices: [{ name: 'dev0' }],
    threads: [{ name: 'dev0', on: 'device:dev0', ops: [['read', 'A', 1], ['read', 'A', 2]] }],
  });
}

/** k0 zaps A (PTE none), then dev0 reads and writes it. */
function zappedDevice(maxRetries = 8) {
  return compile({
    name: 'pri-none',
    world: { maxRetries },
    pages: { A: { cells: [1, 2, 3, 4] } },
    devices: [{ name: 'dev0' }],
    threads: [
      { name: 'k0', on: 'kernel', ops: [['zap', 'A']] },
      { name: 'dev0', on: 'device:dev0', ops: [['read', 'A', 0], ['write', 'A', 1, 5], ['read', 'A', 1]] },
    ],
  });
}

describe('kernel/access: device accesses and PRI', () => {
  it('the IOMMU fault worker is the last thread, after the scenario threads in order', () => {
    const r = replay(zappedDevice(), 'v4.13');
    assert.deepEqual(r.threadNames, ['k0', 'dev0', 'iommu-fault']);
    const noIommu = compile({ name: 'n', world: { iommu: 'none' }, pages: { A: {} }, threads: [{ name: 'c', on: 'cpu', ops: [] }] });
    assert.deepEqual(replay(noIommu, 'v4.13').threadNames, ['c'], 'no fault worker without an IOMMU');
  });

  it('a present, dirty PTE: the walk translates at once and fills the ATC; the next access hits the ATC', () => {
    const sc = compile({
      name: 'walk',
      pages: { A: { cells: [1, 2, 3, 4] } },
      devices: [{ name: 'dev0' }],
      threads: [{ name: 'dev0', on: 'device:dev0', ops: [['read', 'A', 0], ['write', 'A', 0, 8], ['read', 'A', 0]] }],
    });
    const r = replay(sc, 'v4.13');
    assert.deepEqual(r.violations, []);
    assert.deepEqual(labels(r), ['device DMA read', 'device DMA write', 'device DMA read']);
    assert.match(rows(r)[0].effects, /via amd-v2 walk/);
    assert.match(rows(r)[1].effects, /A\[0\] := 8 .* via dev0\.atc/);
    assert.match(rows(r)[2].effects, /A\[0\] = 8 .* via dev0\.atc/);
  });

  it('no ATC entry and a swap PTE: a PRI request served by iommu-fault (do_swap_page), then the access succeeds', () => {
    const r = replay(swappedDevice(), 'v4.13');
    assert.deepEqual(r.violations, []);
    assert.deepEqual(labelsOf(r, 'iommu-fault'), [
      'do_fault: down_read(mmap_sem)',
      'handle_pte_fault',
      'do_swap_page: swapin_readahead',
      'do_swap_page: lock_page',
      'do_swap_page: pte_offset_map_lock',
      'do_swap_page: page_add_anon_rmap + set_pte_at + swap_free',
      'pte_unmap_unlock',
      'do_fault: up_read + finish_pri_tag',
    ]);
    assert.deepEqual(labelsOf(r, 'dev0'), ['device DMA read: ATS translation fault', 'device DMA read', 'device DMA read']);
    assert.match(rows(r)[0].effects, /PRI page request/);
    assert.deepEqual(readValues(r, 'dev0'), [
      { page: 'A', cell: 1, value: 5 },
      { page: 'A', cell: 2, value: 6 },
    ]);
  });

  it('no ATC entry and a none PTE: read maps the zero page, write copies it, both through PRI', () => {
    const r = replay(zappedDevice(), 'v4.13');
    assert.deepEqual(r.violations, []);
    const fw = labelsOf(r, 'iommu-fault');
    assertInOrder(fw, [
      'do_fault: down_read(mmap_sem)',
      'handle_pte_fault',
      'do_anonymous_page: set_pte_at(zero page)',
      'do_fault: up_read + finish_pri_tag',
      'do_fault: down_read(mmap_sem)',
      'do_wp_page: get_page + pte_unmap_unlock',
      'wp_page_copy: alloc_zeroed_user_highpage_movable',
      'ptep_clear_flush_notify',
      'do_fault: up_read + finish_pri_tag',
    ]);
    assert.equal(fw.filter((l) => l === 'do_fault: up_read + finish_pri_tag').length, 2, 'two PRI round trips');
    assertInOrder(labelsOf(r, 'dev0'), [
      'device DMA read: ATS translation fault',
      'device DMA read',
      'device DMA write: ATS translation fault',
      'device DMA write',
      'device DMA read',
    ]);
    assert.deepEqual(readValues(r, 'dev0'), [
      { page: 'A', cell: 0, value: 0 },
      { page: 'A', cell: 1, value: 5 },
    ]);
  });

  it('the fault worker takes mmap_sem for read around handle_mm_fault and releases the device after up_read', () => {
    const r = replay(swappedDevice(), 'v4.13');
    const rs = rows(r);
    const fwId = r.threadNames.indexOf('iommu-fault');
    const devId = r.threadNames.indexOf('dev0');
    const down = rs.findIndex((x) => x.thread === fwId && x.label === 'do_fault: down_read(mmap_sem)');
    const up = rs.findIndex((x) => x.thread === fwId && x.label === 'do_fault: up_read + finish_pri_tag');
    const retry = rs.findIndex((x, i) => i > 0 && x.thread === devId);
    assert.ok(down > 0 && down < up && up < retry, `${down} < ${up} < ${retry}`);
  });

  it('a device write to a clean writable PTE: the amd-v2/intel-svm walk sets D itself (no PRI); arm-smmu-v3, or iommu.setsDirty false, needs PRI', () => {
    // madvise-free cleans A's PTE (dirty = 0) but leaves it writable.
    const scenario = (iommu: 'amd-v2' | 'intel-svm' | 'arm-smmu-v3') =>
      compile({
        name: 'clean-write',
        world: { iommu },
        pages: { A: { cells: [1, 2, 3, 4] } },
        devices: [{ name: 'dev0' }],
        threads: [
          { name: 'k0', on: 'kernel', ops: [['madvise-free', 'A']] },
          { name: 'dev0', on: 'device:dev0', ops: [['write', 'A', 0, 3], ['read', 'A', 0]] },
        ],
      });
    const needsPri = (r: ReturnType<typeof replay>) => {
      assert.deepEqual(r.violations, []);
      assert.deepEqual(labelsOf(r, 'dev0'), ['device DMA write: ATS translation fault', 'device DMA write', 'device DMA read']);
      assertInOrder(labelsOf(r, 'iommu-fault'), ['handle_pte_fault', 'handle_pte_fault: spin_lock(ptl)', 'ptep_set_access_flags', 'do_fault: up_read + finish_pri_tag']);
    };
    const walkSetsDirty = (r: ReturnType<typeof replay>) => {
      assert.deepEqual(r.violations, []);
      assert.deepEqual(labelsOf(r, 'dev0'), ['device DMA write', 'device DMA read'], 'the walk sets D itself: no PRI');
      assert.deepEqual(labelsOf(r, 'iommu-fault'), []);
      assert.deepEqual(readValues(r, 'dev0'), [{ page: 'A', cell: 0, value: 3 }]);
    };
    for (const iommu of ['amd-v2', 'intel-svm'] as const) walkSetsDirty(replay(scenario(iommu), 'v4.13'));
    needsPri(replay(scenario('arm-smmu-v3'), 'v6.6'));
    const never = parseVariantJson({ base: 'v4.13', sites: { 'iommu.setsDirty': false } }, 'never-sets-dirty');
    needsPri(replay(scenario('amd-v2'), never.sites));
    const always = parseVariantJson({ base: 'v6.6', sites: { 'iommu.setsDirty': 'true' } }, 'always-sets-dirty');
    walkSetsDirty(replay(scenario('arm-smmu-v3'), always.sites));
  });

  describe('maxRetries', () => {
    it('maxRetries 0 and a none PTE: the first translation fault is already too many → no-progress', () => {
      const r = replay(zappedDevice(0), 'v4.13');
      assert.deepEqual(oracles(r), ['no-progress']);
      const v = r.violations[0];
      assert.equal(v.thread, r.threadNames.indexOf('dev0'));
      assert.equal(v.page, 'A');
      assert.equal(v.label, 'device DMA read: ATS translation fault');
      assert.match(v.message, /dev0 needed more than 0 PRI round trips to read A \(PTE none\)/);
      assert.deepEqual(labelsOf(r, 'iommu-fault'), [], 'no PRI request was sent');
    });

    it('maxRetries 1 suffices for each access that needs one PRI round trip', () => {
      const r = replay(zappedDevice(1), 'v4.13');
      assert.deepEqual(r.violations, []);
    });

    it('the abandoned access is skipped: the device goes on with its next op', () => {
      const r = replay(zappedDevice(0), 'v4.13');
      const dev = labelsOf(r, 'dev0');
      assert.equal(dev[0], 'device DMA read: ATS translation fault');
      assert.equal(dev[1], 'device DMA write: ATS translation fault', 'the write is attempted next');
    });
  });

  describe('arm-smmu-v3 caches read-only entries (catalog smmu-upgrade-livelock)', () => {
    const entry = catalogEntry('smmu-upgrade-livelock');

    it('v4.15 (no notification on a read-only → writable upgrade): the device write never gets through → no-progress', function () {
      if (!entry) this.skip();
      const sc = compile(entry!.scenario);
      const r = replay(sc, 'v4.15');
      assert.ok(oracles(r).includes('no-progress'), JSON.stringify(oracles(r)));
      assert.ok(labelsOf(r, 'dev0').includes('device DMA write: ATS translation fault (cached read-only entry)'));
      assert.ok(!labelsOf(r, 'dev0').includes('device DMA write'), 'the write never succeeds');
    });

    it('v6.6 (upgrade flushes secondary TLBs): one PRI round trip, then the write lands', function () {
      if (!entry || !PRESETS.has('v6.6')) this.skip();
      const sc = compile(entry!.scenario);
      const r = replay(sc, 'v6.6');
      assert.deepEqual(r.violations, []);
      assertInOrder(labelsOf(r, 'dev0'), ['device DMA read', 'device DMA write: ATS translation fault (cached read-only entry)', 'device DMA write', 'device DMA read']);
      assert.deepEqual(readValues(r, 'dev0').at(-1), { page: 'A', cell: 0, value: 1 });
    });
  });
});
