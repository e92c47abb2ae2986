import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CATALOG } from '../sim/scenario/catalog.ts';
import { compileScenario } from '../sim/scenario/compile.ts';
import { PRESETS } from '../sim/variants/presets.ts';
import { runOnce, type RunResult } from '../sim/run.ts';
import { ReplayChooser } from '../sim/schedule/replay.ts';
import { shrinkFinding } from '../sim/shrink/shrink.ts';
import { firstCatalogFinding } from '../sim/shrink/catalogFinding.ts';
import { escapeHtml, renderFindingHtml, renderHtml } from '../sim/trace/html.ts';
import { StateRecorder } from '../sim/trace/state.ts';
import { RandomChooser } from '../sim/schedule/random.ts';
import { SIM_VERSION } from '../sim/version.ts';
import type { Finding } from '../sim/finding.ts';
import { CHROMIUM, consoleLines, runChromium } from './helpers/chromium.ts';

const ARTIFACTS = resolve('test-artifacts');

function shrunk(name: string): Finding {
  return shrinkFinding(firstCatalogFinding(CATALOG.find((e) => e.scenario.name === name)!)).finding;
}

/** The <tr> of a step, as rendered. */
function rowOf(html: string, step: number): string {
  const m = new RegExp(`<tr [^>]*data-step="${step}"[^>]*>[\\s\\S]*?</tr>`).exec(html);
  assert.ok(m, `no row for step ${step}`);
  return m[0];
}

function assertStandalone(html: string): void {
  assert.ok(html.startsWith('<!DOCTYPE html>'));
  assert.doesNotMatch(html, /<link\b|<img\b|<iframe\b|\bsrc\s*=|url\(/i, 'no external resources');
  assert.doesNotMatch(html, /https?:\/\//, 'no network addresses');
  assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
}

describe('HTML trace', function () {
  this.timeout(120_000);
  const cow = shrunk('cow-two-pages');
  const out = renderFindingHtml(cow);

  it('replays the finding and renders a standalone page', () => {
    assert.ok(out.reproduced);
    assertStandalone(out.html!);
    assert.match(out.html!, /<title>stale-read in cow-two-pages \(range-end-only\)<\/title>/);
  });

  it('highlights the violating step with the oracle and its explanation', () => {
    assert.ok(out.reproduced);
    const v = out.run.violations.find((x) => x.oracle === 'stale-read')!;
    const row = rowOf(out.html, v.step);
    assert.match(row, /class="step violation[^"]*" id="violation"/);
    assert.match(row, /data-oracle="stale-read"/);
    assert.match(row, /⚠ stale-read/);
    assert.ok(row.includes(escapeHtml(v.label)));
    assert.ok(out.html.includes(escapeHtml(v.message)));
    assert.equal((out.html.match(/id="violation"/g) ?? []).length, 1);
    // The other participant (the CPU store that wrote the new page) is outlined.
    assert.match(out.html, /class="step participant"[^>]*>[\s\S]*?cpu store/);
  });

  it('has one lane per thread that ran and one row per step', () => {
    assert.ok(out.reproduced);
    const lanes = new Set(out.run.trace!.map((r) => r.thread));
    const head = /<thead>[\s\S]*?<\/thead>/.exec(out.html)![0];
    assert.equal((head.match(/<th>/g) ?? []).length, lanes.size);
    assert.equal((out.html.match(/<tr class="step/g) ?? []).length, out.run.steps);
  });

  it('embeds a state snapshot per step: page table, TLB/IOTLB/ATC entries (stale ones marked), frames', () => {
    const sc = compileScenario(cow.scenario);
    const rec = new StateRecorder();
    const run = runOnce(sc, PRESETS.get('range-end-only')!.sites, new ReplayChooser(cow.decisions), { trace: true, observer: rec });
    assert.equal(rec.states.length, run.steps + 1);
    const v = run.violations[0];
    const at = rec.states[v.step + 1];
    const page = at.pages.find((p) => p.name === v.page)!;
    assert.ok(page.cached.some((e) => e.cache.endsWith('.atc') && e.stale), JSON.stringify(page));
    assert.ok(rec.states[0].pages.every((p) => p.cached.length === 0));
    const data = /<script type="application\/json" id="racefarm-data">([\s\S]*?)<\/script>/.exec(out.html!)![1];
    assert.equal(JSON.parse(data).states.length, run.steps + 1);
    // A recorder's first state is describeState of the fresh World.
    const again = new StateRecorder();
    runOnce(sc, PRESETS.get('v4.13')!.sites, new ReplayChooser([]), { observer: again });
    assert.deepEqual(again.states[0], rec.states[0]);
  });

  it('escapes what it shows, including inside the embedded data', () => {
    const evil = '</script><script>alert(1)</script><b>';
    const run: RunResult = {
      steps: 1,
      decisions: [],
      violations: [{ oracle: 'stale-read', step: 0, thread: 0, label: evil, page: 'A', message: evil, participants: [evil] }],
      threadNames: ['t0'],
      trace: [{ step: 0, thread: 0, label: evil, page: 'A', effects: evil }],
      pruned: false,
    } as RunResult;
    const html = renderHtml(run, null, { states: [{ pages: [{ name: 'A', pte: evil, windows: 0, ptl: null, cached: [] }], frames: [], other: [evil] }] });
    assert.equal(html.includes(evil), false);
    assert.equal((html.match(/<script/g) ?? []).length, 2);
  });

  it('renders an end-of-run violation and a clean run', () => {
    // lost-write is checked at the end of the run: the first random seed of a race that shows one.
    const entry = CATALOG.find((e) => e.scenario.name === 'writeback-device-write') ?? CATALOG.find((e) => e.expect.includes('lost-write'))!;
    const sc = compileScenario(entry.scenario);
    const variant = PRESETS.get(entry.buggyVariant)!;
    let found: RunResult | null = null;
    for (let s = 0; s < 20000 && found === null; s++) {
      const r = runOnce(sc, variant.sites, new RandomChooser(s));
      if (r.violations.some((v) => v.thread < 0 && v.oracle === 'lost-write')) found = runOnce(sc, variant.sites, new RandomChooser(s), { trace: true });
    }
    assert.ok(found, `no lost-write in ${entry.scenario.name}`);
    const clean = runOnce(sc, PRESETS.get(entry.correct[0])!.sites, new ReplayChooser([]), { trace: true });
    const html = renderHtml(clean, null);
    assertStandalone(html);
    assert.match(html, /No violation in this run/);
    const lost = renderHtml(found, null);
    assertStandalone(lost);
    assert.match(lost, /class="endrow violation"[^>]*data-oracle="lost-write"/);
  });

  it('refuses a finding of another simulator version', () => {
    const r = renderFindingHtml({ ...cow, simVersion: 'racefarm-sim/0.0.0' });
    assert.equal(r.reproduced, false);
    assert.match(r.reproduced ? '' : r.reason, new RegExp(`mismatch.*${SIM_VERSION.replace(/[.]/g, '\\.')}`));
  });

  describe('in headless Chromium', () => {
    for (const name of ['cow-two-pages', 'kvm-stale-spte']) {
      it(`${name}: opens with no console errors, the script runs and pins the highlighted violation; screenshot in test-artifacts/`, function () {
        if (!CHROMIUM) {
          this.skip(); // chromium not installed: apt-get install -y chromium (or set CHROMIUM=/path)
        }
        const page = name === 'cow-two-pages' ? out : renderFindingHtml(shrunk(name));
        assert.ok(page.reproduced);
        mkdirSync(ARTIFACTS, { recursive: true });
        const file = join(ARTIFACTS, `trace-${name}.html`);
        writeFileSync(file, page.html);
        const url = pathToFileURL(file).href;
        const dom = runChromium(['--dump-dom'], url);
        assert.equal(dom.status, 0, dom.stderr);
        assert.deepEqual(consoleLines(dom.stderr), [], 'console messages');
        assert.match(dom.stdout, /<body data-ready="1">/, 'the inline script ran to the end');
        const v = page.run.violations.find((x) => x.thread >= 0)!;
        const row = rowOf(dom.stdout, v.step);
        assert.match(row, /class="step violation[^"]*selected/, 'the violation row is highlighted and pinned');
        assert.match(dom.stdout, new RegExp(`State after step ${v.step}\\b`));
        assert.match(dom.stdout, /class="stale"/, 'the state panel marks the stale entry');
        const shot = join(ARTIFACTS, `trace-${name}.png`);
        const s = runChromium([`--screenshot=${shot}`], url);
        assert.equal(s.status, 0, s.stderr);
        assert.ok(existsSync(shot));
      });
    }
  });
});
