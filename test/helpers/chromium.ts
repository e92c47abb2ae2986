import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The headless Chromium the browser tests use: $CHROMIUM, else Debian's. Undefined when absent. */
export const CHROMIUM = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && existsSync(p));

/**
 * Runs headless Chromium once on `url` with a fresh profile (`--dump-dom` prints the DOM after the
 * page's scripts ran; `--enable-logging=stderr` puts console messages on stderr as `:CONSOLE` lines).
 */
export function runChromium(args: readonly string[], url: string): SpawnSyncReturns<string> {
  const profile = mkdtempSync(join(tmpdir(), 'racefarm-chromium-'));
  try {
    return spawnSync(
      CHROMIUM!,
      [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--enable-logging=stderr', '--v=0',
        '--window-size=1400,1000', ...args, url,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** The console messages Chromium logged (`:CONSOLE` lines of its stderr). */
export function consoleLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => /:CONSOLE[:(]/.test(l));
}
