/**
 * A standalone entry for the farm's commands (the same ones `racefarm` has), for processes that
 * should not depend on the rest of the CLI: `node --import tsx farm/main.ts worker --redis URL`.
 */
import { Command } from 'commander';
import { addFarmCommands } from '../cli/farm.ts';

const program = new Command('racefarm-farm').exitOverride((e) => process.exit(e.exitCode === 1 ? 2 : e.exitCode));
addFarmCommands(program);
await program.parseAsync(process.argv);
