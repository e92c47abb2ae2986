import { ORACLE_CLASS } from '../sim/oracles/classes.ts';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { KERNEL_OPS } from '../sim/scenario/compile.ts';
import { ORACLES } from '../sim/oracles/violation.ts';
import { SITES, SITE_NAMES } from '../sim/variants/sites.ts';
import { PRESETS } from '../sim/variants/presets.ts';
import { LIMITS } from '../sim/scenario/limits.ts';

/**
 * The project documents itself: every repository path that README.md, docs/, farm/README.md or a code
 * comment cites exists, no text cites a file that is not in the repository (the old design note),
 * and the reference pages under docs/ name every op, site, choice, preset and oracle the code defines.
 */

const ROOTS = ['sim', 'cli', 'farm', 'coordinator', 'worker', 'proto', 'deploy', 'test', 'bench', 'bin', 'docs', 'schemas', '.ci'];
const SKIP_DIRS = new Set(['node_modules', '.git', 'dist', 'test-artifacts', 'findings']);

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (SKIP_DIRS.has(name)) continue;
    const p = dir === '.' ? name : join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) walk(p, out);
    else if (/\.(ts|mts|mjs|js|md|proto|yml|yaml|json)$/.test(name) || name === 'Dockerfile' || name === 'run') out.push(p);
  }
  return out;
}

/** The texts that may cite files: documentation, and the comments of code (strings of code are its own business). */
function citingTexts(): { file: string; text: string }[] {
  const files = ['README.md', 'Dockerfile', ...ROOTS.filter((r) => existsSync(r)).flatMap((r) => walk(r))].filter(
    (f) => !f.endsWith('package-lock.json') && !f.startsWith('schemas/') && !f.startsWith('bench/results'),
  );
  return files.map((file) => {
    const raw = readFileSync(file, 'utf8');
    if (/\.(ts|mts|mjs|js|proto)$/.test(file)) {
      const comments = raw.match(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g) ?? [];
      return { file, text: comments.join('\n') };
    }
    return { file, text: raw };
  });
}

/** Repository paths in a text: `sim/finding.ts`, `deploy/grafana/`, `README.md`… */
function citedPaths(text: string): string[] {
  const re = new RegExp(`(?<![\\w./-])((?:${ROOTS.map((r) => r.replace('.', '\\.')).join('|')})/[A-Za-z0-9_./-]*|README\\.md|Dockerfile)`, 'g');
  const out = new Set<string>();
  for (const m of text.matchAll(re)) {
    let p = m[1].replace(/[.,:;)]+$/, '');
    // A glob or a placeholder (`fuzzWorker.{mjs,ts}`, a `<name>` in prose) is not a path.
    if (/[{<*]/.test(text.slice(m.index!, m.index! + m[0].length + 1))) continue;
    if (p.endsWith('/')) p = p.slice(0, -1);
    out.add(p);
  }
  return [...out];
}

describe('documentation', () => {
  const texts = citingTexts();

  it('reads every documentation page and code file', () => {
    assert.ok(texts.some((t) => t.file === 'README.md'));
    assert.ok(texts.some((t) => t.file === 'docs/scenario-format.md'));
    assert.ok(texts.some((t) => t.file === 'sim/finding.ts'));
    assert.ok(texts.length > 100, `${texts.length} files`);
  });

  it('cites only files that exist in the repository', () => {
    const missing: string[] = [];
    let checked = 0;
    for (const { file, text } of texts) {
      for (const p of citedPaths(text)) {
        checked++;
        if (!existsSync(p)) missing.push(`${file}: ${p}`);
      }
    }
    assert.ok(checked > 100, `only ${checked} citations found: the scanner is broken`);
    assert.deepEqual(missing, [], 'cited paths that do not exist');
  });

  it('never cites the design note that is not in the repository', () => {
    // Spelled in two parts so that this test does not itself match a grep for the name.
    const absent = new RegExp(['DES', 'IGN\\.md'].join(''));
    const hits = texts.filter((t) => absent.test(t.text)).map((t) => t.file);
    assert.deepEqual(hits, []);
  });

  it('the scenario format page names every op and the limits', () => {
    const doc = readFileSync('docs/scenario-format.md', 'utf8');
    for (const op of ['read', 'write', ...KERNEL_OPS]) assert.ok(doc.includes(`["${op}"`), `op ${op}`);
    assert.ok(doc.includes(`| ${LIMITS.nameLength}`), 'name length');
    for (const k of ['frames', 'cells', 'ptLock', 'iommu', 'kvm', 'maxSteps', 'maxRetries', 'cow', 'swapped', 'file', 'ats']) {
      assert.ok(doc.includes(`\`${k}\``), k);
    }
  });

  it('the variants page names every site with all its choices, and every preset', () => {
    const doc = readFileSync('docs/variants.md', 'utf8');
    for (const s of SITE_NAMES) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${s}\` |`));
      assert.ok(row, `site ${s}`);
      for (const c of SITES[s].choices) assert.ok(row.includes(`\`${c}\``), `${s}: ${c}`);
    }
    for (const p of PRESETS.keys()) assert.ok(doc.includes(`\`${p}\``), `preset ${p}`);
    assert.match(doc, /Without `base` a file starts from `v4\.13`/);
  });

  it('the oracles page names every oracle with its class (ORACLE_CLASS in sim/oracles/classes.ts)', () => {
    const doc = readFileSync('docs/oracles.md', 'utf8');
    for (const o of ORACLES) assert.match(doc, new RegExp(`\\| \`${o}\` \\| ${ORACLE_CLASS[o]} \\|`), o);
  });
});
