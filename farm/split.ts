import { exhaustivePrefixes } from '../sim/schedule/exhaustive/prefixes.ts';
import type { CompiledScenario } from '../sim/scenario/compiled.ts';
import type { Sites } from '../sim/variants/sites.ts';

/** Deeper than any catalog scenario's decision count: the split stops there whatever it has. */
const MAX_DEPTH = 64;

/**
 * The decision prefixes an exhaustive campaign's jobs search, in the search's order: the
 * shallowest depth that gives at least `split` prefixes, or every schedule's whole decision list
 * when the tree is smaller than that. Deterministic (a pure function of scenario, sites, bound and
 * split), so a restarted coordinator or a retried StartCampaign gets the same jobs. Each depth is
 * enumerated afresh: one short execution per prefix of every length below it, negligible next to
 * the search. `max` bounds the jobs (the farm's per-campaign job limit): a depth that would exceed
 * it is not taken.
 */
export function splitSearch(sc: CompiledScenario, sites: Sites, bound: number, split: number, max: number): number[][] {
  let best = exhaustivePrefixes(sc, sites, { bound, depth: 0 });
  for (let depth = 1; depth <= MAX_DEPTH && best.length < split; depth++) {
    const next = exhaustivePrefixes(sc, sites, { bound, depth });
    if (next.length > max) break;
    best = next;
    // Every prefix a whole schedule: deeper changes nothing.
    if (next.every((p) => p.leaf)) break;
  }
  return best.map((p) => [...p.decisions]);
}
