import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { measureSimSpeed } from './simSpeed.ts';

const args = new Set(process.argv.slice(2));
const quick = args.has('--quick');
const json = args.has('--json');
const millis = quick ? 700 : 3000;

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const speed = measureSimSpeed(millis);
const machine = { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, node: process.version };
const result = { date: new Date().toISOString(), machine, quick, simSpeed: speed };

if (json) {
  const out = `${dirname(fileURLToPath(import.meta.url))}/results.json`;
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  console.log(JSON.stringify(result));
} else {
  console.log(`racefarm bench — ${machine.cpu}, ${machine.cores} cores, node ${machine.node}${quick ? ' (quick)' : ''}`);
  console.log('\n1. Simulator speed, one core, fuzz mode (no trace):');
  console.log('scenario                  variant                    strategy  steps/s     schedules/s  steps/schedule');
  for (const r of speed) {
    console.log(
      `${r.scenario.padEnd(26)}${r.variant.padEnd(27)}${r.strategy.padEnd(10)}${fmt(r.stepsPerSec).padStart(10)}  ${fmt(r.schedulesPerSec).padStart(11)}  ${r.avgSteps.toFixed(1).padStart(14)}`,
    );
  }
  const total = speed.reduce((a, r) => a + r.steps, 0) / speed.reduce((a, r) => a + r.ms, 0);
  console.log(`overall: ${fmt(total * 1000)} steps/s (target 1,000,000)`);
}
