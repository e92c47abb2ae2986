/** A generator's random source: seedrandom's Alea through sim/schedule/random.ts prng. */
export type Rng = () => number;

/** One of `xs`, uniformly. */
export function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[Math.floor(rng() * xs.length)];
}

/** One of `items`, with probability proportional to its weight (one rng draw). */
export function weighted<T>(rng: Rng, items: readonly (readonly [T, number])[]): T {
  let total = 0;
  for (const [, w] of items) total += w;
  let r = rng() * total;
  for (const [x, w] of items) {
    r -= w;
    if (r < 0) return x;
  }
  return items[items.length - 1][0];
}
