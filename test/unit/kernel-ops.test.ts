import assert from 'node:assert/strict';
import { KERNEL_OPS } from '../../sim/scenario/compile.ts';
import { compile, labelsOf, replay } from './helpers.ts';

/**
 * "An op outside KERNEL_OPS is rejected, never silently ignored" (sim/scenario/compile.ts): the
 * other half is that every op KERNEL_OPS accepts runs a kernel path of its own.
 */
const ARGS: Record<string, (string | number)[]> = {
  reclaim: ['reclaim', 'A'],
  'madvise-free': ['madvise-free', 'A'],
  zap: ['zap', 'A'],
  'clear-refs': ['clear-refs'],
  pagemap: ['pagemap', 'A'],
  writeback: ['writeback', 'F'], // page_mkclean applies to a shared file page
  migrate: ['migrate', 'A'],
  'ksm-merge': ['ksm-merge', 'A', 'B'],
  mprotect: ['mprotect', 'A', 'r'],
};

describe('kernel/threads: every accepted kernel op runs a kernel path', () => {
  for (const verb of KERNEL_OPS) {
    it(`"${verb}" compiles on a kernel thread and runs at least one step of its own`, () => {
      const op = ARGS[verb];
      assert.ok(op, `no example arguments for ${verb}`);
      const usesFile = op.includes('F');
      const sc = compile({
        name: 'op',
        pages: { A: { cells: [1, 2, 3, 4] }, B: { cells: [1, 2, 3, 4] }, ...(usesFile ? { F: { cells: [1, 2, 3, 4], file: true } } : {}) },
        threads: [{ name: 'k0', on: 'kernel', ops: [op] }],
      });
      const r = replay(sc, 'v4.13');
      const ls = labelsOf(r, 'k0');
      assert.ok(ls.length >= 1, `${verb} ran no step`);
      assert.ok(ls.every((l) => l.length > 0), 'every step is labelled');
      assert.deepEqual(r.violations, [], `${verb} alone on a quiet world violates nothing`);
    });
  }
});
