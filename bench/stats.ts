/**
 * Summary of a sample where some searches may have given up at their cap: those count as larger than
 * any found value (a censored sample), so a quantile that falls on them is reported as null
 * ("beyond the cap"), never as the cap itself.
 */
export interface Summary {
  /** Searches run. */
  n: number;
  /** Searches that found it within the cap. */
  found: number;
  median: number | null;
  p25: number | null;
  p75: number | null;
  /** Over the searches that found it; null when none did. */
  min: number | null;
  max: number | null;
}

export function summarize(values: readonly (number | null)[]): Summary {
  const sorted = values.map((v) => (v === null ? Infinity : v)).sort((a, b) => a - b);
  const q = (p: number): number | null => {
    if (sorted.length === 0) return null;
    // Linear interpolation between closest ranks (type 7).
    const h = (sorted.length - 1) * p;
    const lo = Math.floor(h);
    const hi = Math.ceil(h);
    const v = sorted[lo] + (sorted[hi] - sorted[lo]) * (h - lo);
    return Number.isFinite(v) ? v : null;
  };
  const found = sorted.filter(Number.isFinite);
  return {
    n: values.length,
    found: found.length,
    median: q(0.5),
    p25: q(0.25),
    p75: q(0.75),
    min: found.length > 0 ? found[0] : null,
    max: found.length > 0 ? found[found.length - 1] : null,
  };
}

const fmtNum = (n: number): string => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n >= 10 ? n.toFixed(0) : n.toFixed(1).replace(/\.0$/, ''));

/** "median [min–max]" or "> cap" style text. */
export function fmtSummary(s: Summary, cap?: number): string {
  if (s.found === 0) return cap !== undefined ? `none ≤ ${fmtNum(cap)}` : 'none';
  const med = s.median === null ? `> ${cap !== undefined ? fmtNum(cap) : 'cap'}` : fmtNum(s.median);
  const spread = s.min === s.max ? '' : ` [${fmtNum(s.min!)}–${fmtNum(s.max!)}]`;
  const miss = s.found < s.n ? ` (${s.found}/${s.n})` : '';
  return `${med}${spread}${miss}`;
}

export { fmtNum };
