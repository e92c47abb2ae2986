#!/usr/bin/env node
// The `racefarm` command once installed as a package: registers tsx's TypeScript loader in this
// process and runs the CLI from its TypeScript source (cli/main.ts sets process.exitCode).
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
