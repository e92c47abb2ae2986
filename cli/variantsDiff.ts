import { SITES, SITE_NAMES, type SiteName } from '../sim/variants/sites.ts';
import type { Variant } from '../sim/variants/presets.ts';
import { loadVariant } from './inputs.ts';
import { InputError } from '../sim/scenario/errors.ts';

/**
 * `racefarm variants A [--diff B]`: a variant's site assignment, or the sites where two variants
 * differ, each choice with the kernel code it stands for (the site's doc in sim/variants/sites.ts).
 */

/** A variant argument: a preset or a variant file, the error naming the argument it came from. */
function variantArg(arg: string, what: string): Variant {
  try {
    // The scenario is only consulted when no variant is named: never here.
    return loadVariant(arg, undefined as never);
  } catch (e) {
    if (e instanceof InputError) throw new InputError(e.message.split('\n')[0].replace(/:$/, ''), e.problems.map((p) => p.replace('--variant', what)));
    throw e;
  }
}

/**
 * What one choice of a site stands for. A site's doc lists its choices' kernel code in choice order,
 * separated by " · " (the first part after the function name); a doc that does not split that way
 * describes the site as a whole, and is given for every choice.
 */
export function choiceDoc(site: SiteName, choice: string): string {
  const s = SITES[site];
  const choices = s.choices as readonly string[];
  const parts = s.doc.split(' · ');
  const i = choices.indexOf(choice);
  if (parts.length === choices.length && i >= 0) {
    // The later parts leave out the function the first one names: "try_to_unmap_one (mm/rmap.c): …".
    const head = parts[0].indexOf(': ');
    return i === 0 || head < 0 ? parts[i] : `${parts[0].slice(0, head)}: ${parts[i]}`;
  }
  return s.doc;
}

export interface SiteDiff {
  readonly site: SiteName;
  readonly a: string;
  readonly b: string;
  readonly docA: string;
  readonly docB: string;
}

export function diffVariants(a: Variant, b: Variant): SiteDiff[] {
  return SITE_NAMES.filter((s) => a.sites[s] !== b.sites[s]).map((site) => ({
    site,
    a: a.sites[site],
    b: b.sites[site],
    docA: choiceDoc(site, a.sites[site]),
    docB: choiceDoc(site, b.sites[site]),
  }));
}

export function variantText(arg: string): string {
  const v = variantArg(arg, 'variants NAME');
  const w = Math.max(...SITE_NAMES.map((s) => s.length));
  const lines = [`${v.name}: ${v.description}`, ''];
  for (const s of SITE_NAMES) lines.push(`${s.padEnd(w)}  ${v.sites[s]}`, `${''.padEnd(w)}  ${choiceDoc(s, v.sites[s])}`);
  return lines.join('\n') + '\n';
}

export function variantsDiffText(argA: string, argB: string): string {
  const a = variantArg(argA, 'variants NAME');
  const b = variantArg(argB, '--diff');
  const diffs = diffVariants(a, b);
  if (diffs.length === 0) return `${a.name} and ${b.name} choose the same at every site\n`;
  const lines = [`${diffs.length} site(s) where ${a.name} and ${b.name} differ:`];
  for (const d of diffs) {
    lines.push('', `${d.site}`, `  ${a.name}: ${d.a}`, `    ${d.docA}`, `  ${b.name}: ${d.b}`, `    ${d.docB}`);
  }
  return lines.join('\n') + '\n';
}
