import type { ScenarioJson } from './scenario/compiled.ts';
import type { Sites } from './variants/sites.ts';
import type { StrategySpec } from './schedule/strategy.ts';

/** How a finding's schedule was found: a per-seed strategy, or the exhaustive search (depth = its preemption bound). */
export type FindingStrategy = StrategySpec | { readonly name: 'exhaustive'; readonly depth: number; readonly kSteps: number };
import type { OracleName, Violation } from './oracles/violation.ts';
import type { OracleClass } from './oracles/classes.ts';
import { fnv1a64 } from './util/hash.ts';
import { PRESETS } from './variants/presets.ts';
import { SITE_NAMES } from './variants/sites.ts';

export const FINDING_FORMAT = 'racefarm-finding/1';

/** A finding file: everything needed to replay one violation on any machine. */
export interface Finding {
  readonly format: typeof FINDING_FORMAT;
  readonly simVersion: string;
  readonly scenario: ScenarioJson;
  readonly variant: { readonly name: string; readonly sites: Sites };
  readonly strategy: FindingStrategy;
  readonly seed: number;
  /** Thread ids chosen at each decision point: the schedule. */
  readonly decisions: readonly number[];
  readonly oracle: OracleName;
  /**
   * The oracle's class (sim/oracles/classes.ts): observable, invariant or limit. Derived from the
   * oracle and written for readers of the file; replay does not need it (files without it replay).
   */
  readonly class: OracleClass;
  readonly message: string;
  /** Step index at which the oracle fired. */
  readonly step: number;
  readonly steps: number;
  readonly signature: string;
  readonly participants: readonly string[];
  readonly threads: readonly string[];
}

/** A variant is named by its preset when it is one, else by its full site assignment. */
export function variantKey(name: string, sites: Sites): string {
  const preset = PRESETS.get(name);
  if (preset && SITE_NAMES.every((k) => preset.sites[k] === sites[k])) return name;
  return SITE_NAMES.map((k) => `${k}=${sites[k]}`).join(',');
}

/**
 * Signature for dedup: the oracle, the variant, and the kernel-function labels of the steps that
 * took part in the violation, in order. Seeds, thread names and page names do not enter it.
 */
export function signatureOf(oracle: OracleName, variantName: string, sites: Sites, participants: readonly string[]): string {
  return fnv1a64(`${oracle}\u0000${variantKey(variantName, sites)}\u0000${participants.join('\u0001')}`);
}

export function violationSignature(v: Violation, variantName: string, sites: Sites): string {
  return signatureOf(v.oracle, variantName, sites, v.participants);
}
