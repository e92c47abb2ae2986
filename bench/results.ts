import type { SpeedRow } from './simSpeed.ts';
import type { BaselineRow } from './baseline.ts';
import type { FirstFindingRow } from './firstFinding.ts';
import type { LocalScaling, FarmScaling } from './scaling.ts';
import type { ShrinkRow } from './shrink.ts';
import type { FastCheckRow } from './fastcheck.ts';
import type { ExhaustiveRow } from './exhaustive.ts';
import type { CoverageRow } from './coverage.ts';
import type { ProfileResult } from './profile.ts';

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
  /** 1. Where the time goes: a CPU profile of fuzzing cow-two-pages, self time per source folder. */
  profile: ProfileResult | null;
  /** 2. Time to first finding per race and strategy over campaign seeds. */
  firstFinding: FirstFindingRow[];
  /** 3. Scaling. */
  scaling: { local: LocalScaling | null; farm: FarmScaling };
  /** 4. Shrinking. */
  shrink: ShrinkRow[] | null;
  /** 5. fast-check fc.scheduler baseline on cow-two-pages. */
  fastCheck: FastCheckRow | null;
  /** 6. Exhaustive search, POR vs plain DFS, correct presets. */
  exhaustive: ExhaustiveRow[];
  /** 7. Coverage after N schedules and over schedules. */
  coverage: CoverageRow[];
  plots: string[];
  failures: { task: string; error: string }[];
}
