import type { SpeedRow } from './simSpeed.ts';
import type { BaselineRow } from './baseline.ts';
import type { FirstFindingRow } from './firstFinding.ts';
import type { LocalScaling, FarmScaling } from './scaling.ts';
import type { ShrinkRow } from './shrink.ts';
import type { FastCheckRow } from './fastcheck.ts';
import type { ExhaustiveRow } from './exhaustive.ts';
import type { CoverageRow } from './coverage.ts';
import type { ProfileResult } from './profile.ts';
import type { PctAutoRow } from './pctAuto.ts';
import type { GeneratedResult } from './generated.ts';
import type { CliFuzzRow } from './cliFuzz.ts';

/** bench/results.json. A figure that could not be measured is null (and named under `failures`). */
export interface BenchResults {
  date: string;
  machine: { cpu: string; cores: number; memoryGiB: number; node: string; platform: string; loadAverage: { start: number; end: number } };
  simVersion: string;
  quick: boolean;
  /** Bench processes the phase-2 searches were spread over. */
  lanes: number;
  wallMs: number;
  /** Durations, caps and sample sizes used. */
  settings: Record<string, number | null>;
  /** 1. Simulator speed, one core, per built-in scenario (its buggy preset), random and pct. */
  simSpeed: SpeedRow[] | null;
  /** 1. The same memory operations without scheduling/oracles (see baseline.ts). */
  baseline: BaselineRow[] | null;
  /** 1b. `racefarm fuzz --workers 1` as a process, per built-in scenario (issue 13: ns/step against the baseline). */
  cliFuzz: CliFuzzRow[] | null;
  /** 1. Where the time goes: a CPU profile of fuzzing cow-two-pages, self time per source folder. */
  profile: ProfileResult | null;
  /** 2. Time to first finding per race and strategy over campaign seeds. */
  firstFinding: FirstFindingRow[];
  /** 3. Scaling. */
  scaling: { local: LocalScaling | null; farm: FarmScaling };
  /** 4. Shrinking. */
  shrink: ShrinkRow[] | null;
  /** 5. fast-check's fc.scheduler driving the simulator (a Chooser adapter) against racefarm's schedulers, same cap. */
  fastCheck: FastCheckRow | null;
  /** 6. Exhaustive search, POR vs plain DFS, correct presets. */
  exhaustive: ExhaustiveRow[];
  /** 7. Coverage after N schedules and over schedules. */
  coverage: CoverageRow[];
  /** 8. PCT --depth auto on every catalog race within its seed budget. */
  pctAuto: PctAutoRow[];
  /** 9. Generated programs (issue 11): explore speed and coverage against the catalog. */
  generated: GeneratedResult | null;
  plots: string[];
  failures: { task: string; error: string }[];
}
