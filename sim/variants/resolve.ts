import { InputError } from '../scenario/errors.ts';
import { PRESETS, presetNames, type Variant } from './presets.ts';
import { SITES, SITE_NAMES, isChoiceOf, isSiteName, type SiteName, type Sites } from './sites.ts';

/**
 * A variant file: `{ "base": "v4.15", "sites": { "cow.clearPte": "clear-flush" }, "name"?: "…" }`.
 * Unknown keys, sites and choices are rejected with the list of allowed ones.
 */
export function parseVariantJson(input: unknown, fallbackName: string): Variant {
  const problems: string[] = [];
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InputError('invalid variant', ['(top level): must be an object { "base": PRESET, "sites": { … } }']);
  }
  const obj = input as Record<string, unknown>;
  for (const k of Object.keys(obj)) {
    if (!['base', 'sites', 'name', 'description'].includes(k)) problems.push(`${k}: unknown key (allowed: base, sites, name, description)`);
  }
  let base: Variant | undefined;
  if (obj.base === undefined) base = PRESETS.get('v4.13');
  else if (typeof obj.base !== 'string' || !PRESETS.has(obj.base)) {
    problems.push(`base: ${JSON.stringify(obj.base)} is not a preset (presets: ${presetNames().join(', ')})`);
  } else base = PRESETS.get(obj.base);
  const sites: Record<string, string> = { ...(base?.sites ?? PRESETS.get('v4.13')!.sites) };
  // Absent means no overrides; null is refused like any other non-object (not read as {}).
  const overrides = obj.sites === undefined ? {} : obj.sites;
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) {
    problems.push(`sites: must be an object of site → choice, got ${overrides === null ? 'null' : Array.isArray(overrides) ? 'an array' : typeof overrides}`);
  } else {
    for (const [k, raw] of Object.entries(overrides as Record<string, unknown>)) {
      // A site whose choices are "true"/"false" takes a JSON boolean as well as the string.
      const v = typeof raw === 'boolean' && isSiteName(k) && isBooleanSite(k) ? String(raw) : raw;
      if (!isSiteName(k)) {
        problems.push(`sites.${k}: unknown site (sites: ${SITE_NAMES.join(', ')})`);
      } else if (!isChoiceOf(k, v)) {
        problems.push(
          `sites.${k}: ${JSON.stringify(v)} is not allowed (choices: ${SITES[k].choices.join(', ')}${isBooleanSite(k) ? ', or a JSON boolean' : ''})`,
        );
      } else {
        sites[k] = v;
      }
    }
  }
  if (obj.name !== undefined && (typeof obj.name !== 'string' || obj.name.length === 0 || obj.name.length > 64)) {
    problems.push('name: must be a string of 1 to 64 characters');
  }
  if (problems.length > 0) throw new InputError('invalid variant', problems);
  const name = typeof obj.name === 'string' ? obj.name : fallbackName;
  const changed = Object.keys(overrides as object);
  return {
    name,
    description:
      typeof obj.description === 'string'
        ? obj.description
        : `${base!.name} with ${changed.map((k) => `${k}=${sites[k]}`).join(', ') || 'no changes'}`,
    sites: sites as unknown as Sites,
  };
}

/** A site with the choices "true" and "false" (and maybe others, e.g. iommu.notifyOnUpgrade's "arm64"): a JSON boolean names one of those two. */
export function isBooleanSite(site: SiteName): boolean {
  const c = SITES[site].choices as readonly string[];
  return c.includes('true') && c.includes('false');
}

export function resolvePreset(name: string): Variant {
  const v = PRESETS.get(name);
  if (!v) throw new InputError('unknown variant', [`variant: "${name}" is not a preset (presets: ${presetNames().join(', ')}) nor a file`]);
  return v;
}

/** The sites in which a variant differs from a preset, for a compact description. */
export function siteDiff(sites: Sites, from: Sites): Partial<Record<SiteName, string>> {
  const out: Partial<Record<SiteName, string>> = {};
  for (const k of SITE_NAMES) if (sites[k] !== from[k]) out[k] = sites[k];
  return out;
}
