import assert from 'node:assert/strict';
import { CATALOG, type CatalogEntry } from '../sim/scenario/catalog.ts';
import { firstCatalogFinding } from '../sim/shrink/catalogFinding.ts';
import { replayFinding } from '../sim/replay.ts';
import type { Finding } from '../sim/finding.ts';
import { dropOp, preemptionsOf, probe, probeFinding, shrinkFinding, targetOf, type Candidate, type Probe, type ShrinkResult } from '../sim/shrink/shrink.ts';

/**
 * Shrunk size per built-in race, measured on the first random-strategy finding of the buggy
 * preset (seeds from 0) with the default budget. `steps` bounds the whole shrunk run; `threads`
 * the scenario threads left. Runs are deterministic, so these are facts about the shrinker on
 * today's kernel paths: a change to a path that lengthens a race updates its line here.
 */
const BOUNDS: Record<string, { steps: number; threads: number }> = {
  'cow-two-pages': { steps: 18, threads: 3 }, // 48 steps, 6 threads → 18, 3 (the doc table has 6 columns)
  'unmap-window-madv-free': { steps: 29, threads: 4 }, // stale-read from pct's first finding (random never reaches it): every thread is in the race — MADV_FREE, kswapd's discard, the device's two reads around the CPU's write
  'soft-dirty-device-write': { steps: 18, threads: 2 }, // 19 → 18 (0.5.0: clear_refs' VM_SOFTDIRTY pass under down_write is 3 steps)
  'zap-gather-free': { steps: 12, threads: 2 }, // → 12 (0.5.0: tlb_finish_mmu's dec_tlb_flush_pending step)
  'kvm-stale-spte': { steps: 27, threads: 3 }, // 32 → 27, 3 threads (0.5.0: +1 hva_to_pfn_fast step; cpu0 stays — with a CPU thread reclaim defers its TLB flush, should_defer_flush, so the unmapping step the signature names is ptep_get_and_clear + set_tlb_ubc_flush_pending; without it, ptep_clear_flush)
  'intel-svm-cow': { steps: 17, threads: 3 }, // 31 → 17 (0.6.0: the PASID-state deferral while active: 31 → 17, 2 threads)
  'intel-svm-writeback': { steps: 31, threads: 3 }, // 0.6.0: 32 → 31, every thread is in the race (the device's writes, writeback's deferred flush, reclaim)
  'ksm-stale-tlb': { steps: 52, threads: 4 }, // 0.6.0, from pct depth 5's first (seed 2,720): 64 → 52, 4 threads (clear_refs, MADV_FREE, ksmd and the stale CPU write)
  'smmu-upgrade-livelock': { steps: 69, threads: 2 }, // → 69: maxRetries PRI round trips are the race (0.5.0: +3 clear_refs steps)
  'writeback-device-write': { steps: 22, threads: 2 }, // 33 → 22
  'mprotect-device-write': { steps: 9, threads: 2 }, // 11 → 9
  'migrate-device-write': { steps: 14, threads: 2 }, // 16 → 14
  'ksm-device-write': { steps: 29, threads: 2 }, // → 29: ksmd's merge is longer since 0.4.0 (mmap_sem per try_to_merge_with_ksm_page, set_page_stable_node, stable_tree_insert)
  'mprotect-soft-dirty-file': { steps: 48, threads: 2 }, // → 48: every op is the race (write, clear_refs, mprotect ×2, write, pagemap; 0.5.0: +3 clear_refs steps)
  'mprotect-soft-dirty-anon': { steps: 33, threads: 2 }, // 37 → 33 (0.5.0: +3 clear_refs steps)
  'reclaim-zap-stale-tlb': { steps: 20, threads: 3 }, // 22 → 20: cpu0's two writes, reclaim and the zap are all the race
  'reclaim-mprotect-stale-tlb': { steps: 18, threads: 3 }, // 19 → 18
  'kvm-apic-access-migrate': { steps: 48, threads: 2 }, // 58 → 48: the vCPU's reload (GUP, vmcs_write64, put_page) is inside the race
};

const SEARCH_SEEDS = 40000; // mprotect-soft-dirty-anon's first random hit is seed 28310 (0.5.0)
const MAX_RUNS = 4000;

// Races uniform random scheduling does not reach (test/scenarios.test.ts budgets with random: null): start from pct's first, at this depth.
const PCT_ONLY: Record<string, number> = { 'unmap-window-madv-free': 3, 'ksm-stale-tlb': 5 };

function firstFinding(entry: CatalogEntry): Finding {
  const depth = PCT_ONLY[entry.scenario.name];
  return depth === undefined ? firstCatalogFinding(entry, SEARCH_SEEDS) : firstCatalogFinding(entry, SEARCH_SEEDS, 'pct', 2000, depth);
}

function threadsInTrace(f: Finding): number {
  const r = replayFinding(f);
  assert.ok(r.reproduced);
  return new Set(r.run.trace!.map((row) => row.thread)).size;
}

describe('shrink', function () {
  this.timeout(120_000);
  for (const entry of CATALOG) {
    const name = entry.scenario.name;
    describe(name, () => {
      let found: Finding;
      let shrunk: ShrinkResult;
      before(() => {
        found = firstFinding(entry);
        shrunk = shrinkFinding(found, { maxRuns: MAX_RUNS });
      });

      it('has a stated bound', () => assert.ok(BOUNDS[name], `no BOUNDS entry for ${name}: measure it and add one`));

      it('the shrunk finding reproduces with the same oracle and signature', () => {
        const r = replayFinding(shrunk.finding);
        assert.ok(r.reproduced, r.reproduced ? '' : r.reason);
        assert.equal(r.violation.oracle, found.oracle);
        assert.ok(r.signatureMatches);
        assert.equal(shrunk.finding.signature, found.signature);
        assert.equal(r.run.steps, shrunk.finding.steps);
        assert.deepEqual(r.run.decisions, shrunk.finding.decisions, 'decisions are the ones recorded by the successful replay');
      });

      it('is within its bound and not larger than the original in threads or ops', () => {
        const s = shrunk.stats;
        const b = BOUNDS[name] ?? { steps: s.stepsBefore, threads: s.threadsBefore };
        assert.ok(s.stepsAfter <= b.steps, `${s.stepsAfter} steps, bound ${b.steps}`);
        assert.ok(s.threadsAfter <= b.threads, `${s.threadsAfter} threads, bound ${b.threads}`);
        assert.ok(s.threadsAfter <= s.threadsBefore);
        assert.ok(s.opsAfter <= s.opsBefore);
        assert.ok(s.preemptionsAfter <= s.preemptionsBefore);
        assert.ok(s.runs <= MAX_RUNS);
        assert.ok(s.minimal, 'the shrinker proved 1-minimality within its budget');
        assert.equal(s.stepsBefore, found.steps);
      });

      it('is 1-minimal: removing any remaining op or preemption loses the finding', () => {
        const target = targetOf(shrunk.finding);
        const found1 = probeFinding(shrunk.finding, target);
        assert.ok(found1);
        const p: Probe = found1;
        let tried = 0;
        p.scenario.threads.forEach((th, t) => {
          for (let o = 0; o < th.ops.length; o++) {
            const c: Candidate = dropOp(p, t, o)!;
            tried++;
            assert.equal(probe(target, c.scenario, c.chooser), null, `still fires without ${th.name}.ops[${o}] ${JSON.stringify(th.ops[o])}`);
          }
        });
        // Preemptions: replace one decision by the no-preemption default and replay the file as is.
        for (const i of preemptionsOf(p)) {
          const decisions = withDefault(p.decisions, p.defaults, i);
          assert.notEqual(decisions[i], p.decisions[i]);
          const r = replayFinding({ ...shrunk.finding, decisions });
          tried++;
          assert.ok(!(r.reproduced && r.signatureMatches), `still fires without the preemption at decision ${i}`);
        }
        assert.ok(tried > 0);
      });

      it('is deterministic', () => {
        const again = shrinkFinding(found, { maxRuns: MAX_RUNS });
        assert.deepEqual(again, shrunk);
      });
    });
  }

  it('cow-two-pages: the shrunk trace needs fewer threads than the 6 columns of the doc table', () => {
    const entry = CATALOG.find((e) => e.scenario.name === 'cow-two-pages')!;
    const s = shrinkFinding(firstFinding(entry), { maxRuns: MAX_RUNS });
    assert.equal(entry.scenario.threads.length, 6);
    assert.ok(threadsInTrace(s.finding) < 6, `${threadsInTrace(s.finding)} threads`);
  });

  it('refuses a finding that does not reproduce', () => {
    const f = firstFinding(CATALOG[0]);
    assert.throws(() => shrinkFinding({ ...f, signature: '0000000000000000' }), /does not reproduce/);
  });

  it('stops at its run budget and says so', () => {
    const f = firstFinding(CATALOG[0]);
    const s = shrinkFinding(f, { maxRuns: 5 });
    assert.ok(s.stats.runs <= 5);
    assert.equal(s.stats.budgetExhausted, true);
    assert.equal(s.stats.minimal, false);
    const r = replayFinding(s.finding);
    assert.ok(r.reproduced && r.signatureMatches);
  });
});

function withDefault(decisions: readonly number[], defaults: readonly number[], i: number): number[] {
  const out = decisions.slice();
  out[i] = defaults[i];
  return out;
}
