import { basename, relative } from 'node:path';

/**
 * How the user ran racefarm, so that a hint names a command they can paste:
 * - `racefarm` when installed (the package's bin, on the PATH or under node_modules/.bin);
 * - `node bin/racefarm.mjs` when they ran the bin of a checkout by its path;
 * - `npm run -s racefarm --` otherwise (a checkout through npm: `npm run -s racefarm`, `npm run fuzz`).
 */
export function commandPrefix(argv: readonly string[] = process.argv, cwd: string = process.cwd()): string {
  const entry = argv[1] ?? '';
  const name = basename(entry);
  if (name === 'racefarm' || /[\\/]node_modules[\\/]/.test(entry)) return 'racefarm';
  if (name === 'racefarm.mjs' || name === 'racefarm.js') return `node ${relative(cwd, entry) || entry}`;
  return 'npm run -s racefarm --';
}
