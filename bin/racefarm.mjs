#!/usr/bin/env node
// The `racefarm` command. Runs the compiled CLI (dist/cli/main.js, built by `npm run build`, which
// `npm ci` and `npm pack` run through `prepare`); cli/main.ts sets process.exitCode. The installed
// package holds only dist/, so that is what it runs. In a checkout whose dist/ is missing or older
// than the sources (an edited file; dist/farm/compiled.js compares content hashes), it runs the
// TypeScript sources through tsx instead, so it never runs stale code.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli/main.js', import.meta.url);
const stamp = new URL('../dist/farm/compiled.js', import.meta.url);
const current = existsSync(compiled) && existsSync(stamp) && (await import(stamp.href)).compiledIsCurrent();
if (current) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}
