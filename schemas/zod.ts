import { z } from 'zod';
import { scenarioSchema } from '../sim/scenario/schema.ts';
import { LIMITS } from '../sim/scenario/limits.ts';
import { KERNEL_OPS } from '../sim/scenario/compile.ts';
import { SITES, SITE_NAMES, type SiteName } from '../sim/variants/sites.ts';
import { presetNames } from '../sim/variants/presets.ts';
import { isBooleanSite } from '../sim/variants/resolve.ts';
import { ORACLES } from '../sim/oracles/violation.ts';
import { STRATEGIES } from '../sim/schedule/strategy.ts';
import { FINDING_FORMAT } from '../sim/finding.ts';
import { ORACLE_CLASSES } from '../sim/oracles/classes.ts';

/**
 * The zod schemas the JSON Schema files under schemas/ are generated from (schemas/generate.ts).
 * The scenario's is the one validation uses (sim/scenario/schema.ts); a variant file and a finding
 * file are validated by hand-written checks (sim/variants/resolve.ts, sim/replay.ts, cli/repro.ts),
 * and the schemas here say the same thing from the same sources (sites, presets, oracles).
 */

const [firstPreset, ...otherPresets] = presetNames();

/** `sites`: every site optional, each with exactly its allowed choices. */
function siteShape(required: boolean) {
  const shape: Record<string, z.ZodType> = {};
  for (const s of SITE_NAMES) {
    const [c0, ...cs] = SITES[s].choices as readonly string[];
    const choice = z.enum([c0, ...cs] as [string, ...string[]]);
    // A variant file may write a "true"/"false" site as a JSON boolean (sim/variants/resolve.ts); a finding stores the string.
    const e = (!required && isBooleanSite(s) ? z.union([choice, z.boolean()]) : choice).describe(SITES[s as SiteName].doc);
    shape[s] = required ? e : e.optional();
  }
  return z.object(shape).strict();
}

export const variantFileSchema = z
  .object({
    base: z
      .enum([firstPreset, ...otherPresets] as [string, ...string[]])
      .optional()
      .describe('the preset the file starts from; without it, v4.13'),
    sites: siteShape(false).optional().describe('site → choice, overriding the base'),
    name: z.string().min(1).max(64).optional().describe("the variant's name; without it, the file name minus its extension"),
    description: z.string().optional(),
  })
  .strict()
  .describe('A racefarm variant file (docs/variants.md)');

const [o0, ...os] = ORACLES;
const [s0, ...ss] = STRATEGIES;

export const findingFileSchema = z
  .object({
    format: z.literal(FINDING_FORMAT),
    simVersion: z.string().describe('the simulator version that made it; replay refuses another'),
    scenario: scenarioSchema.describe('the scenario, every default filled in'),
    variant: z.object({ name: z.string(), sites: siteShape(true) }).describe('name and full site assignment'),
    strategy: z.union([
      z.object({ name: z.enum([s0, ...ss]), depth: z.number().int(), kSteps: z.number().int() }),
      z.object({ name: z.literal('exhaustive'), depth: z.number().int(), kSteps: z.number().int() }),
    ]),
    seed: z.number().int().min(0),
    decisions: z.array(z.number().int().min(0)).describe('the thread chosen at each decision point: the schedule'),
    oracle: z.enum([o0, ...os]),
    class: z.enum(ORACLE_CLASSES).optional().describe("the oracle's class: observable, invariant or limit (docs/oracles.md); written by this version, not needed to replay"),
    message: z.string(),
    step: z.number().int().min(0),
    steps: z.number().int().min(0),
    signature: z.string(),
    participants: z.array(z.string()),
    threads: z.array(z.string()),
  })
  .describe('A racefarm finding file (docs/findings.md)');

/** Scenario JSON Schema: zod's, plus what zod's refinements say and JSON Schema can (page count, names, op verbs). */
export function scenarioJsonSchema(): Record<string, unknown> {
  const js = z.toJSONSchema(scenarioSchema, { io: 'input' }) as Record<string, any>;
  js.description = 'A racefarm scenario (docs/scenario-format.md)';
  const pages = js.properties.pages;
  pages.minProperties = 1;
  pages.maxProperties = LIMITS.pages;
  pages.propertyNames = { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_]*$', maxLength: LIMITS.nameLength };
  const thread = js.properties.threads.items;
  thread.properties.on = { type: 'string', pattern: '^(cpu|kernel|vcpu|device:.+)$', description: 'cpu, kernel, vcpu or device:NAME' };
  thread.properties.ops.items = {
    type: 'array',
    minItems: 1,
    maxItems: 4,
    prefixItems: [{ type: 'string', enum: ['read', 'write', ...KERNEL_OPS], description: 'the op; its arguments follow' }],
    items: { type: ['string', 'number'] },
  };
  return js;
}

export function variantJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(variantFileSchema, { io: 'input' }) as Record<string, unknown>;
}

export function findingJsonSchema(): Record<string, unknown> {
  // The stored scenario has every default filled in: the output shape.
  return z.toJSONSchema(findingFileSchema, { io: 'output' }) as Record<string, unknown>;
}

export const SCHEMA_FILES = {
  'scenario.schema.json': scenarioJsonSchema,
  'variant.schema.json': variantJsonSchema,
  'finding.schema.json': findingJsonSchema,
} as const;

/** The text of a schema file: stable key order, a title naming the file's kind. */
export function schemaText(file: keyof typeof SCHEMA_FILES): string {
  const js = SCHEMA_FILES[file]();
  const { $schema, ...rest } = js;
  return JSON.stringify({ $schema, title: file.replace('.schema.json', ''), ...rest }, null, 2) + '\n';
}
