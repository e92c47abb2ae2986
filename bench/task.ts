/**
 * A bench worker process: `bench/main.ts` forks a few of these (node --import tsx) and sends them
 * tasks over IPC, one at a time each, so that independent measurements use every core while each
 * measurement stays single-threaded and in a process of its own.
 */
import { measureSimSpeed } from './simSpeed.ts';
import { measureBaseline } from './baseline.ts';
import { measureFirstFinding, type FirstFindingStrategy } from './firstFinding.ts';
import { runExhaustiveTask, type ExhaustiveTask } from './exhaustive.ts';
import { measureCoverageEntry } from './coverage.ts';
import { measureShrink } from './shrink.ts';
import { measureFastCheck } from './fastcheck.ts';
import { measureFarmScaling, measureLocalScaling } from './scaling.ts';
import { profileSim } from './profile.ts';
import { measurePctAuto } from './pctAuto.ts';
import { measureGenerated } from './generated.ts';
import { measureCliFuzz } from './cliFuzz.ts';

export type Task =
  | { kind: 'speed'; millis: number }
  | { kind: 'baseline'; millis: number; runs: number }
  | { kind: 'firstFinding'; scenario: string; strategy: FirstFindingStrategy; campaigns: number; cap: number; repeats: number }
  | ({ kind: 'exhaustive' } & ExhaustiveTask)
  | { kind: 'coverage'; scenario: string; schedules: number; points: number }
  | { kind: 'shrink'; repeat: number; maxRuns: number }
  | { kind: 'fastCheck'; campaigns: number; cap: number; correctRuns: number }
  | { kind: 'localScaling'; seeds: number }
  | { kind: 'farm'; seeds: number; redisUrl?: string }
  | { kind: 'profile'; millis: number }
  | { kind: 'pctAuto'; scenario: string; campaigns: number }
  | { kind: 'generated'; millis: number; schedules: number; programs: number }
  | { kind: 'cliFuzz'; seeds: number };

export type TaskMessage = { id: number; task: Task };
export type TaskReply = { id: number; ok: true; result: unknown; ms: number } | { id: number; ok: false; error: string; ms: number };

export async function runTask(t: Task): Promise<unknown> {
  switch (t.kind) {
    case 'speed':
      return measureSimSpeed(t.millis);
    case 'baseline':
      return measureBaseline(t.millis, t.runs);
    case 'firstFinding':
      return measureFirstFinding(t.scenario, t.strategy, t.campaigns, t.cap, t.repeats);
    case 'exhaustive':
      return runExhaustiveTask(t);
    case 'coverage':
      return measureCoverageEntry(t.scenario, t.schedules, ['random', 'pct', 'coverage'], t.points);
    case 'shrink':
      return measureShrink(t.repeat, t.maxRuns);
    case 'fastCheck':
      return measureFastCheck(t.campaigns, t.cap, t.correctRuns);
    case 'localScaling':
      return measureLocalScaling(t.seeds);
    case 'farm':
      return measureFarmScaling(t.seeds, t.redisUrl);
    case 'profile':
      return profileSim(t.millis);
    case 'pctAuto':
      return measurePctAuto(t.scenario, t.campaigns);
    case 'generated':
      return measureGenerated(t.millis, t.schedules, t.programs);
    case 'cliFuzz':
      return measureCliFuzz(t.seeds);
  }
}

if (process.send !== undefined) {
  process.on('message', (m: TaskMessage) => {
    const t0 = performance.now();
    runTask(m.task).then(
      (result) => process.send!({ id: m.id, ok: true, result, ms: performance.now() - t0 } satisfies TaskReply),
      (e: unknown) => process.send!({ id: m.id, ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e), ms: performance.now() - t0 } satisfies TaskReply),
    );
  });
}
