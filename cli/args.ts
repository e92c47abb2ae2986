import { InvalidArgumentError } from 'commander';

/**
 * Commander argument parsers for integer flags. Each rejects anything but a plain decimal integer
 * in range (so `--seeds abc`, `--seeds 1e3`, `--seeds -1` and `--workers 0` exit 2 naming the flag).
 */
export function intParser(flag: string, min: number, max: number = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value: string) => {
    const n = /^[+-]?\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer in [${min}, ${max}]`;
      throw new InvalidArgumentError(`${flag} must be ${range}, got "${value}".`);
    }
    return n;
  };
}

/**
 * `--depth`: PCT's bug depth, an integer in [1, 64], or `auto` (sim/schedule/pct.ts PCT_AUTO_DEPTH:
 * each seed runs at its own depth, 3–6 in turn), which the parser returns as 0.
 */
export function depthParser(flag: string): (value: string) => number {
  const int = intParser(flag, 1, 64);
  return (value: string) => {
    if (value.trim() === 'auto') return 0;
    try {
      return int(value);
    } catch {
      throw new InvalidArgumentError(`${flag} must be "auto" or an integer in [1, 64], got "${value}".`);
    }
  };
}
