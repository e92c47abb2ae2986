import { readFileSync, statSync } from 'node:fs';
import { variantFileName } from './variantFileName.ts';
import { parseTree, printParseErrorCode, type ParseError } from 'jsonc-parser';
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
    throw new InputError(`invalid ${what} file ${path}`, [`(file): not valid JSON: ${jsonErrorAt(text) ?? (e as Error).message}`]);
  }
}

const JSON_ERROR_WORDS: Partial<Record<string, string>> = {
  InvalidSymbol: 'unexpected character',
  InvalidNumberFormat: 'malformed number',
  PropertyNameExpected: 'a property name (in double quotes) is expected',
  ValueExpected: 'a value is expected',
  ColonExpected: 'a colon is expected',
  CommaExpected: 'a comma is expected',
  CloseBraceExpected: 'a closing } is expected',
  CloseBracketExpected: 'a closing ] is expected',
  EndOfFileExpected: 'the end of the file is expected (a second value follows the first)',
  InvalidCommentToken: 'comments are not allowed in JSON',
  UnexpectedEndOfComment: 'unterminated comment',
  UnexpectedEndOfString: 'unterminated string',
  UnexpectedEndOfNumber: 'malformed number',
  InvalidUnicode: 'malformed \\u escape',
  InvalidEscapeCharacter: 'invalid escape character',
  InvalidCharacter: 'invalid character in a string',
};

/** Where a text stops being JSON: `line 3, column 5: a comma is expected` (1-based), or null. */
export function jsonErrorAt(text: string): string | null {
  const errors: ParseError[] = [];
  parseTree(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (first === undefined) {
    if (text.trim() === '') return 'line 1, column 1: the file is empty';
    return null;
  }
  const before = text.slice(0, first.offset);
  const line = before.split('\n').length;
  const column = first.offset - (before.lastIndexOf('\n') + 1) + 1;
  const code = printParseErrorCode(first.error);
  const trailing = code === 'ValueExpected' || code === 'PropertyNameExpected' ? trailingCommaBefore(text, first.offset) : false;
  return `line ${line}, column ${column}: ${trailing ? 'a trailing comma is not allowed in JSON' : (JSON_ERROR_WORDS[code] ?? code)}`;
}

function trailingCommaBefore(text: string, offset: number): boolean {
  const m = /,\s*$/.exec(text.slice(0, offset));
  return m !== null && /^\s*[}\]]/.test(text.slice(offset));
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
    return parseVariantJson(json, variantFileName(arg));
  } catch (e) {
    throw inFile(arg, e);
  }
}
