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
