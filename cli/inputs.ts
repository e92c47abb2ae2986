import { readFileSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { CATALOG, catalogEntry } from '../sim/scenario/catalog.ts';
import { compileScenario } from '../sim/scenario/compile.ts';
import type { CompiledScenario } from '../sim/scenario/compiled.ts';
import { InputError } from '../sim/scenario/errors.ts';
import { PRESETS, presetNames, type Variant } from '../sim/variants/presets.ts';
import { parseVariantJson } from '../sim/variants/resolve.ts';

/** The variant every scenario runs under unless it, or --variant, names another (docs/variants.md). */
export const DEFAULT_VARIANT = 'v4.13';

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Reads and parses a JSON file; any failure is an InputError about that file. */
export function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new InputError(`cannot read ${what} file ${path}`, [`(file): ${(e as Error).message}`]);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new InputError(`invalid ${what} file ${path}`, [`(file): not valid JSON: ${(e as Error).message}`]);
  }
}

/** Prefixes an InputError's headline with the file it came from, keeping its problem list. */
function inFile(path: string, e: unknown): unknown {
  if (e instanceof InputError) {
    const headline = e.message.split('\n')[0].replace(/:$/, '');
    return new InputError(`${path}: ${headline}`, e.problems);
  }
  return e;
}

/**
 * `--scenario NAME|FILE`: a built-in scenario's name, else a JSON file in the format of docs/scenario-format.md.
 * A name wins over a file of the same name (write `./name` to force the file).
 */
export function loadScenario(arg: string): CompiledScenario {
  const entry = catalogEntry(arg);
  if (entry) return compileScenario(entry.scenario);
  if (!isFile(arg)) {
    throw new InputError('unknown scenario', [
      `--scenario: "${arg}" is neither a built-in scenario (${CATALOG.map((e) => e.scenario.name).join(', ')}) nor a file`,
    ]);
  }
  const json = readJsonFile(arg, 'scenario');
  try {
    return compileScenario(json);
  } catch (e) {
    throw inFile(arg, e);
  }
}

/**
 * `--variant PRESET|FILE`: a preset's name, else a variant file `{ "base", "sites", "name"? }`.
 * Without the flag: the scenario's own `variant` field (a preset), else v4.13.
 */
export function loadVariant(arg: string | undefined, sc: CompiledScenario): Variant {
  if (arg === undefined) {
    const name = sc.variant ?? DEFAULT_VARIANT;
    const preset = PRESETS.get(name);
    if (!preset) {
      throw new InputError(`invalid scenario "${sc.name}"`, [
        `variant: "${name}" is not a preset (presets: ${presetNames().join(', ')}); pass a variant file with --variant`,
      ]);
    }
    return preset;
  }
  const preset = PRESETS.get(arg);
  if (preset) return preset;
  if (!isFile(arg)) {
    throw new InputError('unknown variant', [
      `--variant: "${arg}" is neither a preset (${presetNames().join(', ')}) nor a file`,
    ]);
  }
  const json = readJsonFile(arg, 'variant');
  try {
    return parseVariantJson(json, basename(arg, extname(arg)));
  } catch (e) {
    throw inFile(arg, e);
  }
}
