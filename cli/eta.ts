/**
 * The progress bar's ETA. cli-progress estimates from a moving buffer that starts at t = 0, so its
 * first estimates include the worker threads' start-up and read as hours. This one measures the
 * rate from the first progress report on (start-up excluded) and says "estimating" until it has
 * seen some progress after that: sane from the first second.
 */
export class Eta {
  private first: { t: number; done: number } | null = null;

  constructor(private readonly total: number) {}

  /** The ETA text after `done` seeds at time `nowMs`. */
  update(done: number, nowMs: number): string {
    if (done >= this.total) return '0s';
    if (this.first === null) {
      if (done > 0) this.first = { t: nowMs, done };
      return 'estimating';
    }
    const dt = nowMs - this.first.t;
    const dd = done - this.first.done;
    if (dd <= 0 || dt < 250) return 'estimating';
    return formatDuration(((this.total - done) * dt) / dd);
  }
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}
