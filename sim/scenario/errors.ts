/** Bad input: every problem names the field it is about, e.g. `threads[2].ops[0][1]: unknown page "C"`. */
export class InputError extends Error {
  readonly problems: readonly string[];
  constructor(what: string, problems: readonly string[]) {
    super(`${what}:\n  ${problems.join('\n  ')}`);
    this.name = 'InputError';
    this.problems = problems;
  }
}

/** Renders a path the way a JSON user writes it: `threads[2].ops[0][1]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const k of path) {
    if (typeof k === 'number') out += `[${k}]`;
    else out += out === '' ? String(k) : `.${String(k)}`;
  }
  return out === '' ? '(top level)' : out;
}

/** The parts of a zod issue the messages below use (zod 4's issue objects carry these fields). */
export interface SchemaIssue {
  readonly code: string;
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly expected?: unknown;
  readonly origin?: string;
  readonly minimum?: number | bigint;
  readonly maximum?: number | bigint;
  readonly keys?: readonly string[];
  readonly values?: readonly unknown[];
}

/** A zod schema, as far as key listing needs it: objects have a shape, wrappers an inner type. */
interface SchemaNode {
  readonly def?: { readonly innerType?: SchemaNode; readonly element?: SchemaNode; readonly valueType?: SchemaNode; readonly shape?: Record<string, SchemaNode> };
  readonly shape?: Record<string, SchemaNode>;
}

function unwrap(s: SchemaNode | undefined): SchemaNode | undefined {
  let cur = s;
  for (let i = 0; i < 10 && cur?.def?.innerType !== undefined; i++) cur = cur.def.innerType;
  return cur;
}

/** The keys an object schema at `path` allows (wrappers, arrays and records walked through). */
function allowedKeys(schema: SchemaNode, path: readonly PropertyKey[]): string[] {
  let cur = unwrap(schema);
  for (const k of path) {
    if (cur === undefined) return [];
    const shape = cur.shape ?? cur.def?.shape;
    if (shape !== undefined && typeof k === 'string') cur = unwrap(shape[k]);
    else if (cur.def?.element !== undefined) cur = unwrap(cur.def.element);
    else if (cur.def?.valueType !== undefined) cur = unwrap(cur.def.valueType);
    else return [];
  }
  return Object.keys(cur?.shape ?? cur?.def?.shape ?? {});
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = input;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[k];
  }
  return cur;
}

function shown(v: unknown): string {
  const s = v === undefined ? 'undefined' : JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 37)}…` : s;
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  array: 'an array',
  object: 'an object',
  record: 'an object',
};

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number' && !Number.isInteger(v)) return `${v}`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${shown(v)}`;
}

/**
 * Schema problems in the words of the compile errors (`threads[0].ops[0][1]: unknown page "Z"`):
 * the field's path, what is wrong with the value there, and what would be right. No zod wording
 * reaches the user.
 */
export function describeIssues(issues: readonly SchemaIssue[], input: unknown, schema: unknown): string[] {
  const out: string[] = [];
  for (const i of issues) {
    const at = formatPath(i.path);
    const v = valueAt(input, i.path);
    const unit = i.origin === 'string' ? ' characters' : i.origin === 'array' || i.origin === 'set' ? ' elements' : '';
    const size = i.origin === 'string' && typeof v === 'string' ? v.length : Array.isArray(v) ? v.length : i.origin === 'record' || i.origin === 'object' ? Object.keys(v ?? {}).length : v;
    switch (i.code) {
      case 'invalid_type': {
        const want = TYPE_WORDS[String(i.expected)] ?? String(i.expected);
        out.push(v === undefined ? `${at}: missing (${want} is required)` : `${at}: must be ${want}, got ${kindOf(v)}`);
        break;
      }
      case 'too_small':
        out.push(
          i.origin === 'number'
            ? `${at}: ${shown(v)} is below the minimum ${i.minimum}`
            : i.origin === 'string' && i.minimum === 1
              ? `${at}: must not be empty`
              : `${at}: has ${String(size)}${unit}, at least ${i.minimum} needed`,
        );
        break;
      case 'too_big':
        out.push(
          i.origin === 'number'
            ? `${at}: ${shown(v)} is above the maximum ${i.maximum}`
            : `${at}: has ${String(size)}${unit}, at most ${i.maximum} allowed`,
        );
        break;
      case 'invalid_value':
        out.push(`${at}: ${shown(v)} is not one of ${(i.values ?? []).map((x) => String(x)).join(', ')}`);
        break;
      case 'unrecognized_keys': {
        const allowed = allowedKeys(schema as SchemaNode, i.path);
        for (const k of i.keys ?? []) {
          out.push(`${at}: unknown key ${JSON.stringify(k)}${allowed.length > 0 ? ` (allowed: ${allowed.join(', ')})` : ''}`);
        }
        break;
      }
      case 'invalid_union':
        out.push(`${at}: must be a string or a number, got ${kindOf(v)}`);
        break;
      case 'invalid_format':
        // The schema's own message for its patterns (e.g. "must start with a letter…").
        out.push(`${at}: ${shown(v)} ${i.message}`);
        break;
      default:
        // Refinements carry messages written for users ("at least one page is needed").
        out.push(`${at}: ${i.message}`);
    }
  }
  return out;
}
