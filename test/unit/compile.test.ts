import assert from 'node:assert/strict';
import { KERNEL_OPS, compileScenario } from '../../sim/scenario/compile.ts';
import { InputError } from '../../sim/scenario/errors.ts';
import { LIMITS } from '../../sim/scenario/limits.ts';
import { CATALOG } from '../../sim/scenario/catalog.ts';

type Json = Record<string, any>;

/** A valid scenario: one page A, one ATS device, one CPU thread reading A. */
function base(): Json {
  return {
    name: 's',
    pages: { A: {} },
    devices: [{ name: 'dev0' }],
    threads: [{ name: 't0', on: 'cpu', ops: [['read', 'A', 0]] }],
  };
}

function problemsOf(input: unknown): readonly string[] {
  try {
    compileScenario(input);
  } catch (e) {
    assert.ok(e instanceof InputError, `expected InputError, got ${String(e)}`);
    return e.problems;
  }
  assert.fail('the scenario compiled, but it should have been rejected');
}

/** Asserts that compiling rejects the scenario with exactly one problem, starting with `field: `, containing `text`. */
function rejects(input: unknown, field: string, text: string | RegExp): string {
  const problems = problemsOf(input);
  assert.equal(problems.length, 1, `one problem expected, got ${JSON.stringify(problems)}`);
  const p = problems[0];
  assert.ok(p.startsWith(`${field}: `), `problem names the field "${field}": ${p}`);
  if (typeof text === 'string') assert.ok(p.includes(text), `problem ${JSON.stringify(p)} contains ${JSON.stringify(text)}`);
  else assert.match(p, text);
  return p;
}

describe('scenario/compile: validation', () => {
  it('accepts the base scenario', () => {
    const sc = compileScenario(base());
    assert.equal(sc.name, 's');
    assert.equal(sc.pages.length, 1);
    assert.equal(sc.threads.length, 1);
  });

  it('the InputError message lists every problem', () => {
    const s = base();
    s.threads[0].ops = [['read', 'C', 0], ['read', 'A', 9]];
    try {
      compileScenario(s);
      assert.fail('accepted');
    } catch (e) {
      assert.ok(e instanceof InputError);
      assert.equal(e.problems.length, 2);
      for (const p of e.problems) assert.ok(e.message.includes(p));
    }
  });

  describe('ops', () => {
    it('unknown page in an op names the op element', () => {
      const s = base();
      s.threads[0].ops = [['read', 'C', 0]];
      rejects(s, 'threads[0].ops[0][1]', 'unknown page "C"');
    });

    it('unknown page in a later thread and op names that thread and op', () => {
      const s = base();
      s.threads.push({ name: 'k', on: 'kernel', ops: [['zap', 'A'], ['reclaim', 'Z']] });
      const p = rejects(s, 'threads[1].ops[1][1]', 'unknown page "Z"');
      assert.ok(p.includes('pages: A'), 'lists the known pages');
    });

    it('wrong arity of read and write', () => {
      const s = base();
      s.threads[0].ops = [['read', 'A']];
      rejects(s, 'threads[0].ops[0]', '"read" takes the form ["read", page, cell], got 2 elements');
      s.threads[0].ops = [['write', 'A', 0]];
      rejects(s, 'threads[0].ops[0]', '"write" takes the form ["write", page, cell, value], got 3 elements');
      s.threads[0].ops = [['read', 'A', 0, 1]];
      rejects(s, 'threads[0].ops[0]', 'got 4 elements');
    });

    it('wrong arity of kernel ops', () => {
      const s = base();
      s.threads[0].on = 'kernel';
      s.threads[0].ops = [['clear-refs', 'A']];
      rejects(s, 'threads[0].ops[0]', '["clear-refs"]');
      s.threads[0].ops = [['zap']];
      rejects(s, 'threads[0].ops[0]', '["zap", page]');
      s.threads[0].ops = [['pagemap', 'A', 'A']];
      rejects(s, 'threads[0].ops[0]', '["pagemap", page]');
    });

    it('a kernel op on a cpu thread is rejected', () => {
      const s = base();
      s.threads[0].ops = [['reclaim', 'A']];
      rejects(s, 'threads[0].ops[0][0]', '"reclaim" is a kernel op');
    });

    it('a kernel op on a device thread is rejected', () => {
      const s = base();
      s.threads[0].on = 'device:dev0';
      s.threads[0].ops = [['clear-refs']];
      rejects(s, 'threads[0].ops[0][0]', '"clear-refs" is a kernel op');
    });

    it('an access op on a kernel thread is rejected', () => {
      const s = base();
      s.threads[0].on = 'kernel';
      rejects(s, 'threads[0].ops[0][0]', '"read" is a cpu/device/vcpu op');
      s.threads[0].ops = [['write', 'A', 0, 1]];
      rejects(s, 'threads[0].ops[0][0]', '"write" is a cpu/device/vcpu op');
    });

    it('cell out of range, negative or not an integer', () => {
      const s = base();
      for (const c of [4, -1, 1.5, 'x']) {
        s.threads[0].ops = [['read', 'A', c]];
        rejects(s, 'threads[0].ops[0][2]', 'cell must be an integer in [0, 3]');
      }
      s.world = { cells: 2 };
      s.threads[0].ops = [['write', 'A', 2, 1]];
      rejects(s, 'threads[0].ops[0][2]', 'in [0, 1]');
    });

    it('a write value outside int32 is rejected', () => {
      const s = base();
      s.threads[0].ops = [['write', 'A', 0, 2 ** 31]];
      rejects(s, 'threads[0].ops[0][3]', 'value must be a 32-bit integer');
      s.threads[0].ops = [['write', 'A', 0, -(2 ** 31)]];
      assert.doesNotThrow(() => compileScenario(s));
    });

    it('an unknown op lists the ops', () => {
      const s = base();
      s.threads[0].ops = [['frob', 'A']];
      rejects(s, 'threads[0].ops[0][0]', 'unknown op "frob"');
    });

    it('an op name that is not a string', () => {
      const s = base();
      s.threads[0].ops = [[1, 'A', 0]];
      rejects(s, 'threads[0].ops[0][0]', 'the op name must be a string');
    });

    // The kernel ops of docs/scenario-format.md. An op this version does not simulate must be rejected with a message;
    // one it lists in KERNEL_OPS must run a kernel path (checked in kernel-ops.test.ts), never be ignored.
    const DOCUMENTED_OPS: Record<string, (string | number)[]> = {
      reclaim: ['reclaim', 'A'],
      'madvise-free': ['madvise-free', 'A'],
      zap: ['zap', 'A'],
      'clear-refs': ['clear-refs'],
      pagemap: ['pagemap', 'A'],
      writeback: ['writeback', 'A'],
      migrate: ['migrate', 'A'],
      'ksm-merge': ['ksm-merge', 'A', 'B'],
      mprotect: ['mprotect', 'A', 'r'],
    };
    for (const [verb, op] of Object.entries(DOCUMENTED_OPS)) {
      if ((KERNEL_OPS as readonly string[]).includes(verb)) continue;
      it(`unimplemented op "${verb}" is rejected with a message, not silently accepted`, () => {
        const s = base();
        s.pages.B = {};
        s.threads[0].on = 'kernel';
        s.threads[0].ops = [op];
        rejects(s, 'threads[0].ops[0][0]', `"${verb}" is not simulated by this version yet`);
      });
    }

    it('KERNEL_OPS only lists ops of docs/scenario-format.md', () => {
      for (const k of KERNEL_OPS) assert.ok(k in DOCUMENTED_OPS, k);
    });
  });

  describe('threads and devices', () => {
    it('unknown device in `on`', () => {
      const s = base();
      s.threads[0].on = 'device:devX';
      rejects(s, 'threads[0].on', 'unknown device "devX" (devices: dev0)');
    });

    it('an `on` that is no placement', () => {
      const s = base();
      s.threads[0].on = 'gpu';
      rejects(s, 'threads[0].on', '"gpu" is not one of cpu, kernel, vcpu, device:NAME');
    });

    it('duplicate thread and device names', () => {
      const s = base();
      s.threads.push({ name: 't0', on: 'cpu', ops: [] });
      rejects(s, 'threads[1].name', 'duplicate thread "t0"');
      const d = base();
      d.devices.push({ name: 'dev0' });
      rejects(d, 'devices[1].name', 'duplicate device "dev0"');
    });

    it('devices need an IOMMU', () => {
      const s = base();
      s.world = { iommu: 'none' };
      rejects(s, 'devices', 'devices need an IOMMU');
    });

    it('a vcpu thread on a world without KVM is rejected', () => {
      const s = base();
      s.threads[0].on = 'vcpu';
      rejects(s, 'threads[0].on', 'world.kvm');
    });

    // intel-svm and arm-smmu-v3 (commit 939e861) and KVM (commit 3574eed) are simulated now: accepted.
    for (const iommu of ['amd-v2', 'intel-svm', 'arm-smmu-v3', 'none']) {
      it(`iommu "${iommu}" is accepted`, () => {
        const s = base();
        s.world = { iommu };
        if (iommu === 'none') {
          s.devices = [];
        }
        assert.equal(compileScenario(s).world.iommu, iommu);
      });
    }

    // arm64 has no soft-dirty (no HAVE_ARCH_SOFT_DIRTY; clear_soft_dirty() is a stub, pagemap never reports it).
    for (const op of [['clear-refs'], ['pagemap', 'A']]) {
      it(`"${op[0]}" in an arm-smmu-v3 (arm64) world is rejected; in an x86 world it is accepted`, () => {
        const s = base();
        s.world = { iommu: 'arm-smmu-v3' };
        s.threads.push({ name: 'k0', on: 'kernel', ops: [op] });
        rejects(s, 'threads[1].ops[0][0]', 'arm64, which has none');
        for (const iommu of ['amd-v2', 'intel-svm']) {
          s.world = { iommu };
          assert.doesNotThrow(() => compileScenario(s));
        }
      });
    }

    it('KVM in an arm-smmu-v3 (arm64) world is rejected: racefarm\'s KVM is x86\'s shadow MMU', () => {
      const s = base();
      s.world = { iommu: 'arm-smmu-v3', kvm: true };
      rejects(s, 'world.kvm', 'arm64');
      s.world = { iommu: 'intel-svm', kvm: true };
      assert.doesNotThrow(() => compileScenario(s));
    });

    it('an unknown iommu is rejected', () => {
      const s = base();
      s.world = { iommu: 'vt-d' };
      rejects(s, 'world.iommu', /.+/);
    });

    it('a vcpu thread on a world with KVM is accepted, with its own vcpu index', () => {
      const s = base();
      s.world = { kvm: true };
      s.threads = [
        { name: 'v0', on: 'vcpu', ops: [['read', 'A', 0]] },
        { name: 'c0', on: 'cpu', ops: [] },
        { name: 'v1', on: 'vcpu', ops: [['write', 'A', 0, 1]] },
      ];
      const sc = compileScenario(s);
      assert.deepEqual(sc.threads.map((t) => t.on), [{ kind: 'vcpu', vcpu: 0 }, { kind: 'cpu', cpu: 0 }, { kind: 'vcpu', vcpu: 1 }]);
      assert.equal(sc.vcpuCount, 2);
    });

    it('a kernel op on a vcpu thread is rejected', () => {
      const s = base();
      s.world = { kvm: true };
      s.threads[0].on = 'vcpu';
      s.threads[0].ops = [['zap', 'A']];
      rejects(s, 'threads[0].ops[0][0]', '"zap" is a kernel op');
    });

    it(`more than ${LIMITS.threads} threads`, () => {
      const s = base();
      s.threads = Array.from({ length: LIMITS.threads + 1 }, (_, i) => ({ name: `t${i}`, on: 'cpu', ops: [] }));
      rejects(s, 'threads', String(LIMITS.threads));
      s.threads.pop();
      assert.doesNotThrow(() => compileScenario(s));
    });

    it(`more than ${LIMITS.opsPerThread} ops in one thread`, () => {
      const s = base();
      s.threads[0].ops = Array.from({ length: LIMITS.opsPerThread + 1 }, () => ['read', 'A', 0]);
      rejects(s, 'threads[0].ops', String(LIMITS.opsPerThread));
      s.threads[0].ops.pop();
      assert.doesNotThrow(() => compileScenario(s));
    });

    it(`more than ${LIMITS.opsTotal} ops in all`, () => {
      const s = base();
      const per = LIMITS.opsPerThread;
      const n = Math.floor(LIMITS.opsTotal / per) + 1;
      s.threads = Array.from({ length: n }, (_, i) => ({ name: `t${i}`, on: 'cpu', ops: Array.from({ length: per }, () => ['read', 'A', 0]) }));
      rejects(s, 'threads', `${n * per} ops in all, at most ${LIMITS.opsTotal}`);
    });

    it('at least one thread', () => {
      const s = base();
      s.threads = [];
      rejects(s, 'threads', /.+/);
    });

    it('a device without ATS is refused, not modelled as one that sends PRI page requests', () => {
      const s = base();
      s.devices.push({ name: 'dev1', ats: false });
      rejects(s, 'devices[1].ats', 'no PRI page requests');
    });

    it('placements get per-kind indices in thread order', () => {
      const s = base();
      s.devices.push({ name: 'dev1', ats: true });
      s.threads = [
        { name: 'a', on: 'cpu', ops: [] },
        { name: 'b', on: 'device:dev1', ops: [] },
        { name: 'c', on: 'kernel', ops: [] },
        { name: 'd', on: 'cpu', ops: [] },
        { name: 'e', on: 'device:dev0', ops: [] },
      ];
      const sc = compileScenario(s);
      assert.deepEqual(
        sc.threads.map((t) => t.on),
        [{ kind: 'cpu', cpu: 0 }, { kind: 'device', device: 1 }, { kind: 'kernel' }, { kind: 'cpu', cpu: 1 }, { kind: 'device', device: 0 }],
      );
      assert.equal(sc.cpuCount, 2);
    });
  });

  describe('pages and world', () => {
    it('pages.X.cells length must match world.cells', () => {
      const s = base();
      s.pages.A.cells = [1, 2, 3];
      rejects(s, 'pages.A.cells', 'has 3 values, world.cells is 4');
      s.world = { cells: 3 };
      assert.doesNotThrow(() => compileScenario(s));
    });

    it('too few frames for the pages', () => {
      const s = base();
      s.pages.B = {};
      s.world = { frames: 5 };
      rejects(s, 'world.frames', '5 is too few for 2 pages (need at least 6)');
      s.world = { frames: 6 };
      assert.doesNotThrow(() => compileScenario(s));
    });

    it('a page cannot be both cow and swapped', () => {
      const s = base();
      s.pages.A = { cow: true, swapped: true };
      rejects(s, 'pages.A', 'cannot be both cow and swapped');
    });

    it('a bad page name', () => {
      const s = base();
      s.pages = { '9x': {} };
      s.threads[0].ops = [];
      rejects(s, 'pages.9x', 'must start with a letter');
    });

    it('no pages', () => {
      const s = base();
      s.pages = {};
      s.threads[0].ops = [];
      rejects(s, 'pages', 'at least one page');
    });

    it('unknown top-level key (strict)', () => {
      const s = base();
      s.foo = 1;
      rejects(s, '(top level)', '"foo"');
    });

    it('unknown keys inside world, a page, a device and a thread', () => {
      const w = base();
      w.world = { bogus: 1 };
      rejects(w, 'world', '"bogus"');
      const p = base();
      p.pages.A = { colour: 'red' };
      rejects(p, 'pages.A', '"colour"');
      const d = base();
      d.devices[0].pasid = 1;
      rejects(d, 'devices[0]', '"pasid"');
      const t = base();
      t.threads[0].prio = 1;
      rejects(t, 'threads[0]', '"prio"');
    });

    it('world bounds from sim/scenario/limits.ts', () => {
      const s = base();
      s.world = { maxSteps: LIMITS.maxSteps.min - 1 };
      rejects(s, 'world.maxSteps', String(LIMITS.maxSteps.min));
      s.world = { maxRetries: -1 };
      rejects(s, 'world.maxRetries', /.+/);
      s.world = { frames: LIMITS.frames.max + 1 };
      rejects(s, 'world.frames', String(LIMITS.frames.max));
      s.world = { ptLock: 'per-cpu' };
      rejects(s, 'world.ptLock', /.+/);
    });

    it('the top level must be an object with a name', () => {
      assert.ok(problemsOf(null).length >= 1);
      const s = base();
      delete s.name;
      rejects(s, 'name', /.+/);
    });
  });

  describe('source: the scenario with every default filled in', () => {
    it('fills world, device and page-cell defaults', () => {
      const sc = compileScenario(base());
      assert.deepEqual(sc.source, {
        name: 's',
        world: { frames: 16, cells: 4, ptLock: 'per-page', iommu: 'amd-v2', kvm: false, maxSteps: 2000, maxRetries: 8 },
        pages: { A: { cells: [0, 0, 0, 0] } },
        devices: [{ name: 'dev0', ats: true }],
        threads: [{ name: 't0', on: 'cpu', ops: [['read', 'A', 0]] }],
      });
    });

    it('fills the rest of a partial world and page cells of the world cell count', () => {
      const s = base();
      s.world = { cells: 2, maxRetries: 0 };
      s.pages.A = { cow: true };
      s.description = 'd';
      s.variant = 'v4.15';
      const sc = compileScenario(s);
      assert.deepEqual(sc.source.world, { frames: 16, cells: 2, ptLock: 'per-page', iommu: 'amd-v2', kvm: false, maxSteps: 2000, maxRetries: 0 });
      assert.deepEqual(sc.source.pages, { A: { cells: [0, 0], cow: true } });
      assert.equal(sc.source.description, 'd');
      assert.equal(sc.source.variant, 'v4.15');
      assert.equal(sc.variant, 'v4.15');
    });

    it('is a fixed point: compiling the source gives the same source', () => {
      for (const input of [base(), ...CATALOG.map((e) => e.scenario)]) {
        const once = compileScenario(input).source;
        const twice = compileScenario(JSON.parse(JSON.stringify(once))).source;
        assert.deepEqual(twice, once);
      }
    });

    it('does not alias the input (editing the input later does not change the source)', () => {
      const s = base();
      s.pages.A.cells = [1, 2, 3, 4];
      const sc = compileScenario(s);
      s.pages.A.cells[0] = 99;
      s.threads[0].ops[0][2] = 3;
      assert.deepEqual(sc.source.pages.A.cells, [1, 2, 3, 4]);
      assert.deepEqual(sc.source.threads[0].ops[0], ['read', 'A', 0]);
    });
  });

  describe('catalog', () => {
    for (const e of CATALOG) {
      it(`${e.scenario.name} compiles`, () => {
        const sc = compileScenario(e.scenario);
        assert.equal(sc.name, e.scenario.name);
        assert.ok(sc.threads.length >= 1);
      });
    }

    it('scenario names are unique', () => {
      const names = CATALOG.map((e) => e.scenario.name);
      assert.equal(new Set(names).size, names.length);
    });
  });
});
