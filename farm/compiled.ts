import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Where the package's files are, and whether the compiled JavaScript in dist/ may run.
 *
 * `npm run build` (run by `npm ci` through `prepare`, and by `npm test`) compiles the TypeScript
 * sources with tsc into dist/ (same layout: dist/cli/main.js for cli/main.ts) and then runs this
 * module, which writes dist/.sources.json: the SHA-256 of every source file it compiled. The
 * installed package holds only dist/ (no sources), so it always runs the compiled code. A checkout
 * runs the compiled code only while that stamp matches the sources byte for byte — an edited,
 * added or removed source makes dist/ stale, and then worker threads (and bin/racefarm.mjs) load
 * the TypeScript sources through tsx instead, as before there was a build. Never a stale dist/.
 *
 * Content hashes, not modification times: `git checkout` and `git merge` touch files without
 * changing them, and tsc's incremental build rewrites only the outputs whose source changed.
 */

const HERE = dirname(fileURLToPath(import.meta.url));

/** This module runs compiled (from <root>/dist/farm/), not from its source (<root>/farm/). */
const RUNNING_COMPILED = basename(dirname(HERE)) === 'dist' && import.meta.url.endsWith('.js');

/** The folder holding package.json, proto/, schemas/, docs/ — in a checkout and when installed. */
export const PACKAGE_ROOT = RUNNING_COMPILED ? join(HERE, '..', '..') : join(HERE, '..');

/** tsc's outDir (tsconfig.json). */
export const DIST = join(PACKAGE_ROOT, 'dist');

const STAMP = join(DIST, '.sources.json');

/**
 * The source folders whose code a thread or a process started from dist/ can load (tsconfig.json
 * compiles test/ too, but nothing started from dist/ imports a test, so editing a test does not
 * make dist/ stale).
 */
const SOURCE_DIRS = ['sim', 'cli', 'worker', 'coordinator', 'farm', 'schemas', 'bench', 'support'];

/** A file of the package, by its path from the package root (`packagePath('proto', 'racefarm.proto')`). */
export function packagePath(...parts: string[]): string {
  return join(PACKAGE_ROOT, ...parts);
}

/** SHA-256 of every .ts source under SOURCE_DIRS, by path from the root ('/'-separated). */
function hashSources(): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
        out[relative(PACKAGE_ROOT, p).split(sep).join('/')] = createHash('sha256').update(readFileSync(p)).digest('hex');
      }
    }
  };
  for (const d of SOURCE_DIRS) if (existsSync(join(PACKAGE_ROOT, d))) walk(join(PACKAGE_ROOT, d));
  return out;
}

/** `node dist/farm/compiled.js` after tsc: record which sources dist/ was compiled from. */
export function writeStamp(): number {
  const files = hashSources();
  writeFileSync(STAMP, JSON.stringify({ files }, null, 1) + '\n');
  return Object.keys(files).length;
}

let current: boolean | undefined;

/**
 * dist/ holds the compiled form of exactly the sources present: the stamp lists the same files
 * with the same hashes, and each one's .js exists. Computed once per process (~100 files).
 */
export function compiledIsCurrent(): boolean {
  if (current !== undefined) return current;
  current = false;
  if (!existsSync(STAMP)) return current;
  let stamped: Record<string, string>;
  try {
    stamped = (JSON.parse(readFileSync(STAMP, 'utf8')) as { files: Record<string, string> }).files;
  } catch {
    return current;
  }
  const now = hashSources();
  const names = Object.keys(now);
  if (names.length === 0) return (current = true); // an installed package: dist/ is all there is
  if (names.length !== Object.keys(stamped).length) return current;
  for (const f of names) {
    if (stamped[f] !== now[f] || !existsSync(join(DIST, f.replace(/\.ts$/, '.js')))) return current;
  }
  return (current = true);
}

/**
 * The JavaScript to start for a TypeScript module (`new URL('./thread.ts', import.meta.url)` in
 * the caller's source): the module itself when the caller already runs compiled, its dist/
 * counterpart when dist/ is current, or `undefined` — then the caller starts the source through
 * tsx.
 */
export function compiledModule(source: URL): URL | undefined {
  const file = fileURLToPath(source);
  const js = (p: string) => pathToFileURL(p.replace(/\.ts$/, '.js'));
  const rel = relative(DIST, file);
  if (!rel.startsWith('..') && !rel.startsWith(sep)) return js(file); // the caller runs from dist/
  if (!compiledIsCurrent()) return undefined;
  return js(join(DIST, relative(PACKAGE_ROOT, file)));
}

/**
 * A worker thread's execArgv: the parent's, without `--import tsx` (a compiled thread does not need
 * it; a thread started from source registers tsx itself, since Node 20 does not apply the parent's
 * loader hooks to a worker's entry module).
 */
export function threadExecArgv(argv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if ((a === '--import' || a === '--loader') && /(^|[/\\])tsx([/\\]|$)|^tsx$/.test(argv[i + 1] ?? '')) {
      i++;
      continue;
    }
    if (/^--(import|loader)=tsx$/.test(a)) continue;
    out.push(a);
  }
  return out;
}

// `node dist/farm/compiled.js` (the second half of `npm run build`).
if (RUNNING_COMPILED && process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeStamp();
}
