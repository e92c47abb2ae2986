import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The name of a finding file: `<scenario>.<signature>.json`. A signature names the race (oracle,
 * variant, participants) but not the scenario, so two scenarios can share one; with the scenario
 * in the name, one `--out` directory never overwrites a scenario's finding with another's. A
 * scenario name is letters, digits, `_ . -` (sim/scenario/schema.ts), safe in a file name.
 * `fuzz`, `explore`, `fuzz --strategy exhaustive` and `campaign findings --out` all use it.
 */
export function findingFileName(f: { readonly scenario: { readonly name: string }; readonly signature: string }): string {
  return `${f.scenario.name}.${f.signature}.json`;
}

/** Writes `value` (a finding, or a finding with extra fields) as DIR/<scenario>.<signature>.json; returns the path. */
export function writeFindingFile(dir: string, f: { readonly scenario: { readonly name: string }; readonly signature: string }, value: unknown = f): string {
  const file = join(dir, findingFileName(f));
  writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
  return file;
}
