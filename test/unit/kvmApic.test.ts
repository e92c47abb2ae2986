import assert from 'node:assert/strict';
import { compile, sitesOf } from './helpers.ts';
import { PlanChooser, keepWorld, type Segment } from './plan.ts';
import { runOnce } from '../../sim/run.ts';
import { exhaustive } from '../../sim/schedule/exhaustive.ts';
import { compileScenario } from '../../sim/scenario/compile.ts';
import { InputError } from '../../sim/scenario/errors.ts';
import type { ScenarioInput } from '../../sim/scenario/schema.ts';
import { catalogEntry } from '../../sim/scenario/catalog.ts';
import { OBSERVABLE_ORACLES } from '../../sim/oracles/classes.ts';

/**
 * KVM's APIC-access page (sim/kernel/kvmApic.ts, ★ kvm.apicReload). Its pfn lives in each vCPU's
 * VMCS (APIC_ACCESS_ADDR), outside the sptes; the processor treats a guest access as an APIC
 * access only when the EPT translation equals that address. After a migration the vCPU must reload
 * the field, from a hook that runs after the PTE changed: v4.10/v4.11 kvm_arch_mmu_notifier_invalidate_page,
 * e649b3f0188f's ->invalidate_range, or v6.6's range_start request with the mmu_invalidate_retry_hva
 * retry (878940b33d76). v4.13 has no hook (369ea8242c0f), v4.15 requests it from range_start
 * (b1394e745b94) and a vCPU can reload the old pfn before the unmap.
 */
function scenario(over: Partial<ScenarioInput> = {}): ScenarioInput {
  return {
    name: 'apic',
    world: { iommu: 'none', kvm: true },
    pages: { A: { cells: [0, 0, 0, 0], apicAccess: true } },
    threads: [
      { name: 'vcpu0', on: 'vcpu', ops: [['write', 'A', 0, 5], ['read', 'A', 0]] },
      { name: 'k0', on: 'kernel', ops: [['migrate', 'A']] },
    ],
    ...over,
  };
}

function problems(input: unknown): readonly string[] {
  try {
    compileScenario(input);
  } catch (e) {
    if (e instanceof InputError) return e.problems;
    throw e;
  }
  return [];
}

/** vcpu0's APIC write, then migration's range_start up to the reload request, vcpu0's reload, the rest of the migration, vcpu0's read. */
const RELOAD_BEFORE_UNMAP: Segment[] = [
  { thread: 'vcpu0', until: /^vcpu store$/ },
  { thread: 'k0', until: 'kvm_mmu_notifier_invalidate_range_start: kvm_arch_mmu_notifier_invalidate_range' },
  { thread: 'vcpu0', until: 'vmx_set_apic_access_page_addr: put_page' },
  { thread: 'k0' },
  { thread: 'vcpu0' },
];

describe('KVM APIC-access page (kvm.apicReload)', () => {
  it('v4.15 (range-start, b1394e745b94): a vCPU reloads the old pfn before the unmap and the guest reads raw memory', () => {
    const kept = keepWorld();
    const plan = new PlanChooser(RELOAD_BEFORE_UNMAP);
    const r = runOnce(compile(scenario()), sitesOf('v4.15'), plan, { trace: true, observer: kept.observer });
    assert.equal(plan.reached.length, 3, `plan not followed: ${plan.reached.join(' | ')}`);
    const v = r.violations.find((x) => x.oracle === 'stale-read');
    assert.ok(v, `no stale-read: ${JSON.stringify(r.violations)}`);
    assert.match(v.message, /read A\[0\] = 0 .*raw memory, not an APIC access, but the last value written was 5/);
    // The stale party is the VMCS field, made stale by try_to_unmap_one's migration entry.
    assert.equal(v.participants[0], 'kvm-vmcs');
    assert.match(v.participants[1], /^try_to_unmap_one/);
    const w = kept.world();
    assert.notEqual(w.kvm!.vmcs[0].frame[0], w.pt.frame[0], 'APIC_ACCESS_ADDR names the old frame, the EPT/PTE the new one');
  });

  it('the same plan is clean with the reload after the PTE changed: ->invalidate_range (e649b3f0188f), v6.6 range_start + retry', () => {
    for (const variant of ['kvm-apic-invalidate-range', 'v6.6']) {
      const kept = keepWorld();
      const r = runOnce(compile(scenario()), sitesOf(variant), new PlanChooser(RELOAD_BEFORE_UNMAP), { trace: true, observer: kept.observer });
      assert.deepEqual(r.violations, [], variant);
      const w = kept.world();
      assert.equal(w.kvm!.vmcs[0].frame[0], w.pt.frame[0], `${variant}: APIC_ACCESS_ADDR names the page the PTE maps`);
    }
  });

  it('v6.6: a reload that raced range_start is retried (mmu_invalidate_retry_hva) instead of writing the old pfn', () => {
    // vcpu0 takes the request of vmx_vcpu_reset and GUPs the page; migration's range_start runs;
    // then vcpu0 checks mmu_invalidate_retry_hva under mmu_lock.
    const plan = new PlanChooser([
      { thread: 'vcpu0', until: 'get_user_pages: up_read(mmap_sem)' },
      { thread: 'k0', until: 'kvm_mmu_notifier_invalidate_range_start: spin_unlock(mmu_lock)' },
      { thread: 'vcpu0', until: 'vmx_set_apic_access_page_addr: kvm_release_pfn_clean' },
    ]);
    const kept = keepWorld();
    const r = runOnce(compile(scenario()), sitesOf('v6.6'), plan, { trace: true, observer: kept.observer });
    assert.equal(plan.reached.length, 3, `plan not followed: ${plan.reached.join(' | ')}`);
    assert.ok(r.trace!.some((row) => row.label.includes('mmu_invalidate_retry_hva, kvm_make_request(KVM_REQ_APIC_PAGE_RELOAD)')));
    assert.deepEqual(r.violations, []);
  });

  it('v4.13 (none) and v4.15 (range-start): the exhaustive search finds stale-read within bound 2', () => {
    const sc = compile(catalogEntry('kvm-apic-access-migrate')!.scenario);
    for (const variant of ['v4.13', 'v4.15']) {
      const r = exhaustive(sc, sitesOf(variant), { bound: 2, reduction: true, stopAtFirst: true, maxSchedules: 20_000, target: ['stale-read'] });
      assert.ok(r.finding, `${variant}: no stale-read in ${r.schedules} schedules`);
    }
  });

  it('v4.10 and v4.11 (kvm_arch_mmu_notifier_invalidate_page): no observable finding within bound 2', () => {
    const sc = compile(catalogEntry('kvm-apic-access-migrate')!.scenario);
    for (const variant of ['v4.10', 'v4.11']) {
      const r = exhaustive(sc, sitesOf(variant), { bound: 2, reduction: true, stopAtFirst: true, maxSchedules: 20_000, target: [...OBSERVABLE_ORACLES] });
      assert.equal(r.finding, null, `${variant}: ${JSON.stringify(r.finding?.violations)}`);
      assert.equal(r.complete, true);
    }
  });

  it('the partial-order reduction keeps the verdicts of plain DFS (the VMCS field, the reload request and the APIC registers are tracked state)', () => {
    const sc = compile(catalogEntry('kvm-apic-access-migrate')!.scenario);
    for (const variant of ['v4.15', 'v6.6']) {
      const opts = { bound: 2, stopAtFirst: false, maxSchedules: 50_000 };
      const por = exhaustive(sc, sitesOf(variant), { ...opts, reduction: true });
      const dfs = exhaustive(sc, sitesOf(variant), { ...opts, reduction: false });
      assert.ok(por.complete && dfs.complete, variant);
      assert.deepEqual(por.verdicts, dfs.verdicts, variant);
      assert.deepEqual(por.verdicts, variant === 'v4.15' ? ['', 'stale-read'] : [''], variant);
      assert.ok(por.schedules < dfs.schedules, `${variant}: POR ${por.schedules} vs DFS ${dfs.schedules}`);
    }
  });

  describe('the scenario format refuses what it cannot model', () => {
    it('apicAccess without world.kvm names the field', () => {
      const p = problems(scenario({ world: { iommu: 'none' }, threads: [{ name: 'k0', on: 'kernel', ops: [['migrate', 'A']] }] }));
      assert.ok(p.some((x) => x.startsWith('pages.A.apicAccess:') && x.includes('world.kvm')), p.join('\n'));
    });
    it('a second APIC-access page, a cow or file APIC page', () => {
      const p = problems(scenario({ pages: { A: { apicAccess: true }, B: { apicAccess: true, cow: true } } }));
      assert.ok(p.some((x) => x.startsWith('pages.B.apicAccess: there is one APIC-access page')), p.join('\n'));
      assert.ok(p.some((x) => x.startsWith('pages.B.apicAccess: KVM maps the APIC-access page MAP_SHARED')), p.join('\n'));
    });
    it('a CPU or device access, a second vCPU, KSM and MADV_FREE on the APIC page', () => {
      const p = problems(
        scenario({
          world: { kvm: true },
          devices: [{ name: 'dev0', ats: true }],
          threads: [
            { name: 'vcpu0', on: 'vcpu', ops: [['read', 'A', 0]] },
            { name: 'vcpu1', on: 'vcpu', ops: [['read', 'A', 0]] },
            { name: 'cpu0', on: 'cpu', ops: [['read', 'A', 0]] },
            { name: 'dev0', on: 'device:dev0', ops: [['write', 'A', 0, 1]] },
            { name: 'k0', on: 'kernel', ops: [['madvise-free', 'A'], ['ksm-merge', 'A', 'B']] },
          ],
          pages: { A: { apicAccess: true }, B: {} },
        }),
      );
      const want = [
        /^threads\[1\]\.ops\[0\]: "A" is the APIC-access page and vCPU thread "vcpu0" already accesses it/,
        /^threads\[2\]\.ops\[0\]: "A" is the APIC-access page: only a vCPU accesses it/,
        /^threads\[3\]\.ops\[0\]: "A" is the APIC-access page: only a vCPU accesses it/,
        /^threads\[4\]\.ops\[0\]: .*MADV_FREE returns -EINVAL/,
        /^threads\[4\]\.ops\[1\]: .*KSM merges only private anonymous pages/,
      ];
      for (const re of want) assert.ok(p.some((x) => re.test(x)), `${re} not in:\n${p.join('\n')}`);
    });
    it('is kept in the scenario source a finding stores', () => {
      assert.deepEqual(compile(scenario()).source.pages.A, { cells: [0, 0, 0, 0], apicAccess: true });
    });
  });
});
