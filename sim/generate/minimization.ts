import type { ScenarioJson } from '../scenario/compiled.ts';
import type { Finding } from '../finding.ts';
import { RandomChooser } from '../schedule/random.ts';
import type { Chooser } from '../schedule/chooser.ts';
import { SequenceChooser, sequenceWithoutThread } from '../shrink/schedule.ts';
import {
  dropOp,
  dropThread,
  opCount,
  probe,
  probeFinding,
  shrinkFinding,
  targetOf,
  type Candidate,
  type Probe,
  type ShrinkStats,
  type ShrinkTarget,
} from '../shrink/shrink.ts';
import { WORLD_DEFAULTS } from './vocabulary.ts';

/**
 * Program shrinking (syzkaller's prog/minimization.go, for scenarios): a finding of a generated
 * program is reduced by removing threads, ops, pages and devices and by moving world options and page
 * attributes to their defaults, keeping an edit only when the same oracle still fires with the same
 * signature; then the schedule shrinker (sim/shrink) shrinks the interleaving of what is left.
 *
 * A candidate program is probed first with the recorded step sequence adapted to the edit (the other
 * steps keep their relative order, as in sim/shrink), then with `probeSeeds` random schedules: an
 * edit may need another interleaving to show the same race. Deterministic: fixed candidate order,
 * fixed seeds. The removal passes repeat until none succeeds, so the result is 1-minimal for
 * removals (no single thread, op, unused page or unused device can go) unless the budget ran out.
 */
export interface MinimizeOptions {
  /** Simulator runs for the program phase (default 3000); the schedule phase has its own (4000). */
  readonly maxRuns?: number;
  /** Random schedules tried per candidate after the adapted sequence (default 16). */
  readonly probeSeeds?: number;
  /** Run the schedule shrinker afterwards (default true). */
  readonly shrinkSchedule?: boolean;
}

export interface ProgramShrinkStats {
  runs: number;
  threadsBefore: number;
  threadsAfter: number;
  opsBefore: number;
  opsAfter: number;
  pagesBefore: number;
  pagesAfter: number;
  devicesBefore: number;
  devicesAfter: number;
  /** No single removal keeps the oracle and signature (the final pass tried every one within budget). */
  minimal: boolean;
  budgetExhausted: boolean;
  /** The schedule shrinker's statistics, when it ran and succeeded. */
  schedule: ShrinkStats | null;
}

export interface MinimizeResult {
  readonly finding: Finding;
  readonly stats: ProgramShrinkStats;
}

function clone(s: ScenarioJson): ScenarioJson {
  return {
    ...s,
    world: { ...s.world },
    pages: Object.fromEntries(Object.entries(s.pages).map(([k, v]) => [k, { ...v, cells: [...v.cells] }])),
    devices: s.devices.map((d) => ({ ...d })),
    threads: s.threads.map((t) => ({ ...t, ops: t.ops.map((o) => [...o]) })),
  };
}

const sameSequence = (p: Probe) => (n: number) => new SequenceChooser(p.sequence.threads, n);

/** Pages no op names (clear-refs names none: it covers whatever pages there are). */
function unusedPages(s: ScenarioJson): string[] {
  const used = new Set<string>();
  for (const t of s.threads) for (const o of t.ops) for (const a of o.slice(1)) if (typeof a === 'string') used.add(a);
  return Object.keys(s.pages).filter((p) => !used.has(p));
}

function unusedDevices(s: ScenarioJson): number[] {
  const used = new Set(s.threads.filter((t) => t.on.startsWith('device:')).map((t) => t.on.slice('device:'.length)));
  return s.devices.map((d, i) => [d.name, i] as const).filter(([n]) => !used.has(n)).map(([, i]) => i);
}

/** The program without page `name` (no op names it); thread ids are unchanged, so is the sequence. */
export function dropPage(p: Probe, name: string): Candidate | null {
  if (!unusedPages(p.scenario).includes(name) || Object.keys(p.scenario.pages).length <= 1) return null;
  const scenario = clone(p.scenario);
  delete scenario.pages[name];
  return { scenario, chooser: sameSequence(p) };
}

/** The program without device `i` (no thread runs on it). */
export function dropDevice(p: Probe, i: number): Candidate | null {
  if (!unusedDevices(p.scenario).includes(i)) return null;
  const scenario = clone(p.scenario);
  scenario.devices.splice(i, 1);
  return { scenario, chooser: sameSequence(p) };
}

/** Every single removal of a program: a thread, an op, an unused page, an unused device. */
export function programRemovals(p: Probe): Candidate[] {
  const out: (Candidate | null)[] = [];
  const s = p.scenario;
  for (let t = s.threads.length - 1; t >= 0; t--) out.push(dropThread(p, t));
  for (let t = s.threads.length - 1; t >= 0; t--) for (let o = s.threads[t].ops.length - 1; o >= 0; o--) out.push(dropOp(p, t, o));
  for (const name of unusedPages(s)) out.push(dropPage(p, name));
  for (const i of unusedDevices(s).reverse()) out.push(dropDevice(p, i));
  return out.filter((c): c is Candidate => c !== null);
}

/**
 * Simplifications that remove nothing: world options to their defaults (the IOMMU to "none" once no
 * device is left, which also removes its fault worker thread), page attributes off, page content zero.
 */
export function programSimplifications(p: Probe): Candidate[] {
  const s = p.scenario;
  const out: Candidate[] = [];
  const edit = (f: (x: ScenarioJson) => void, chooser: (n: number) => Chooser = sameSequence(p)): void => {
    const x = clone(s);
    f(x);
    out.push({ scenario: x, chooser });
  };
  if (s.devices.length === 0 && s.world.iommu !== 'none') {
    // The fault worker is the last thread id; its steps leave the sequence.
    const seq = sequenceWithoutThread(p.sequence, s.threads.length);
    edit((x) => void (x.world = { ...x.world, iommu: 'none' }), (n) => new SequenceChooser(seq.threads, n));
  } else if (s.world.iommu !== 'none' && s.world.iommu !== WORLD_DEFAULTS.iommu) {
    edit((x) => void (x.world = { ...x.world, iommu: WORLD_DEFAULTS.iommu }));
  }
  if (s.world.kvm && !s.threads.some((t) => t.on === 'vcpu')) edit((x) => void (x.world = { ...x.world, kvm: false }));
  if (s.world.ptLock !== WORLD_DEFAULTS.ptLock) edit((x) => void (x.world = { ...x.world, ptLock: WORLD_DEFAULTS.ptLock }));
  if (s.world.frames !== WORLD_DEFAULTS.frames && WORLD_DEFAULTS.frames >= 2 * Object.keys(s.pages).length + 2) {
    edit((x) => void (x.world = { ...x.world, frames: WORLD_DEFAULTS.frames }));
  }
  for (const [name, spec] of Object.entries(s.pages)) {
    for (const [k, v] of Object.entries(spec)) if (k !== 'cells' && v === true) edit((x) => void delete (x.pages[name] as Record<string, unknown>)[k]);
    if (spec.cells.some((c) => c !== 0)) edit((x) => void (x.pages[name].cells = x.pages[name].cells.map(() => 0)));
  }
  return out;
}

/**
 * Probes a candidate program: its own chooser (the adapted sequence), then random seeds 0..K-1.
 * Null when no schedule tried fires the target.
 */
export function probeProgram(target: ShrinkTarget, c: Candidate, probeSeeds: number, spend: () => boolean): Probe | null {
  if (!spend()) return null;
  const first = probe(target, c.scenario, c.chooser);
  if (first !== null) return first;
  for (let seed = 0; seed < probeSeeds; seed++) {
    if (!spend()) return null;
    const r = probe(target, c.scenario, () => new RandomChooser(seed));
    if (r !== null) return r;
  }
  return null;
}

/** Shrinks the program of a finding, then its schedule. Throws if the finding does not reproduce. */
export function minimizeFinding(f: Finding, opts: MinimizeOptions = {}): MinimizeResult {
  const maxRuns = opts.maxRuns ?? 3000;
  const probeSeeds = opts.probeSeeds ?? 16;
  const target = targetOf(f);
  let runs = 1;
  let refused = false;
  const spend = (): boolean => {
    if (runs >= maxRuns) {
      refused = true;
      return false;
    }
    runs++;
    return true;
  };
  const start = probeFinding(f, target);
  if (start === null) throw new Error(`minimize: finding ${f.signature} (${f.oracle}) does not reproduce`);
  let cur = start;
  const attempt = (cands: () => Candidate[]): boolean => {
    // Candidates are recomputed after each success: indices shift when something goes.
    let any = false;
    for (let i = 0; ; i++) {
      const cs = cands();
      if (i >= cs.length) return any;
      const p = probeProgram(target, cs[i], probeSeeds, spend);
      if (p !== null) {
        cur = p;
        any = true;
        i = -1;
      }
      if (refused) return any;
    }
  };
  let minimal = false;
  for (;;) {
    const removed = attempt(() => programRemovals(cur));
    const simplified = attempt(() => programSimplifications(cur));
    if (refused) break;
    if (!removed && !simplified) {
      minimal = true;
      break;
    }
  }
  const programShrunk = withProgram(f, cur);
  let finding = programShrunk;
  let schedule: ShrinkStats | null = null;
  if (opts.shrinkSchedule !== false) {
    try {
      const r = shrinkFinding(programShrunk, { maxRuns: 4000 });
      schedule = r.stats;
      // The schedule shrinker may have dropped the last op on a page or the last thread on a device.
      const after = probeFinding(r.finding, target);
      finding = r.finding;
      if (after !== null) {
        cur = after;
        // The schedule shrinker may have dropped the last op on a page or the last thread on a
        // device, and its schedule may let a thread or op go that could not before: the removal
        // passes once more on the result, so what is returned is 1-minimal for removals.
        if (attempt(() => programRemovals(cur))) {
          finding = withProgram(r.finding, cur);
        }
        if (refused) minimal = false;
      }
    } catch {
      finding = programShrunk; // replays by construction; kept as is if the schedule shrinker refuses
    }
  }
  return {
    finding,
    stats: {
      runs,
      threadsBefore: start.scenario.threads.length,
      threadsAfter: finding.scenario.threads.length,
      opsBefore: opCount(start.scenario),
      opsAfter: opCount(finding.scenario),
      pagesBefore: Object.keys(start.scenario.pages).length,
      pagesAfter: Object.keys(finding.scenario.pages).length,
      devicesBefore: start.scenario.devices.length,
      devicesAfter: finding.scenario.devices.length,
      minimal,
      budgetExhausted: refused,
      schedule,
    },
  };
}

/** Finding `f` rewritten for the probed program `p`: its scenario, decisions, and the oracle's violation and run there. */
function withProgram(f: Finding, p: Probe): Finding {
  return {
    ...f,
    scenario: p.scenario,
    decisions: [...p.decisions],
    message: p.violation.message,
    step: p.violation.step,
    steps: p.run.steps,
    participants: p.violation.participants,
    threads: p.run.threadNames,
  };
}
