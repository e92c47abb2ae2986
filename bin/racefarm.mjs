#!/usr/bin/env node
// The `racefarm` command. Runs the compiled CLI (dist/cli/main.js, built by `npm run build`, which
// `npm ci` and `npm pack` run through `prepare`); cli/main.ts sets process.exitCode. The installed
// package (and the Docker image) holds only dist/, so that is what it runs, with no tsx installed.
// In a checkout whose dist/ is missing or older than the sources (an edited file;
// dist/farm/compiled.js compares content hashes), it runs the TypeScript sources through tsx (a
// devDependency) instead, so it never runs stale code.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli/main.js', import.meta.url);
const stamp = new URL('../dist/farm/compiled.js', import.meta.url);
const current = existsSync(compiled) && existsSync(stamp) && (await import(stamp.href)).compiledIsCurrent();
if (current) {
  await import(compiled.href);
} else {
  const source = new URL('../cli/main.ts', import.meta.url);
  let tsx;
  try {
    tsx = existsSync(source) ? await import('tsx/esm/api') : undefined;
  } catch {
    tsx = undefined;
  }
  if (!tsx) {
    process.stderr.write(
      existsSync(source)
        ? 'racefarm: dist/ is missing or older than the sources, and tsx (a devDependency) is not installed: run `npm ci` (which builds dist/) or `npm run build`\n'
        : 'racefarm: dist/cli/main.js is missing from this installation: reinstall the package\n',
    );
    process.exit(3);
  }
  tsx.register();
  await import(source.href);
}
