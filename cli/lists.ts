import { CATALOG, catalogEntry } from '../sim/scenario/catalog.ts';
import { compileScenario } from '../sim/scenario/compile.ts';
import { PRESETS } from '../sim/variants/presets.ts';
import { SITES, SITE_NAMES } from '../sim/variants/sites.ts';

function aligned(rows: readonly [string, string][]): string {
  const w = Math.max(...rows.map(([n]) => n.length));
  return rows.map(([n, d]) => `${n.padEnd(w)}  ${d}`).join('\n') + '\n';
}

/** `racefarm scenarios`: one line per built-in scenario: name, the buggy variant that shows its race, description. */
export function scenariosText(): string {
  const w = Math.max(...CATALOG.map((e) => e.buggyVariant.length));
  return aligned(CATALOG.map((e) => [e.scenario.name, `${e.buggyVariant.padEnd(w)}  ${e.scenario.description ?? ''}`]));
}

/**
 * `racefarm scenarios NAME`: the built-in scenario as a JSON file a user can copy and edit (every
 * default spelled out), or null when there is no such scenario.
 */
export function scenarioJsonText(name: string): string | null {
  const e = catalogEntry(name);
  return e ? JSON.stringify(compileScenario(e.scenario).source, null, 2) + '\n' : null;
}

/** `racefarm variants`: one line per preset: name, description. */
export function variantsText(): string {
  return aligned([...PRESETS.values()].map((v) => [v.name, v.description]));
}

/** `racefarm variants --sites`: each notifier call site, its choices (first = v4.13) and what it stands for. */
export function sitesText(): string {
  const w = Math.max(...SITE_NAMES.map((s) => s.length));
  return (
    SITE_NAMES.map((s) => `${s.padEnd(w)}  ${SITES[s].choices.join(' | ')}\n${''.padEnd(w)}  ${SITES[s].doc}`).join('\n') + '\n'
  );
}
