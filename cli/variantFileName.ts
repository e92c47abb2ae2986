import { basename, extname } from 'node:path';

/**
 * The name of a variant file that has no `name`: its file name minus the extension
 * (`my-variant.json` → `my-variant`), for every command — `fuzz`, `explore`, `repro --variant`,
 * `compare` and `campaign start`, which sends it to the farm (docs/variants.md). Only a variant_json
 * that reaches the gRPC API with neither a name nor a file is named `custom` (farm/campaign.ts).
 */
export function variantFileName(path: string): string {
  return basename(path, extname(path));
}

/**
 * A variant file's text as `campaign start` sends it: with the file's name filled in when the file
 * has none. Text that is not a JSON object goes as it is, for the coordinator to reject by field.
 */
export function namedVariantJson(text: string, path: string): string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return text;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v) || 'name' in v) return text;
  return JSON.stringify({ name: variantFileName(path), ...v });
}
