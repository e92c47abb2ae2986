import seedrandom from 'seedrandom';
import type { Chooser } from './chooser.ts';
import type { SimThread } from '../thread.ts';

/** The PRNG of every strategy: seedrandom's Alea, seeded by a string, identical on every machine. */
export function prng(seed: string): () => number {
  return seedrandom.alea(seed);
}

/** Uniform choice among the enabled threads at each decision point. */
export class RandomChooser implements Chooser {
  private readonly rng: () => number;
  constructor(seed: number) {
    this.rng = prng(`random:${seed}`);
  }
  pick(enabled: readonly SimThread[], count: number): SimThread {
    if (count === 1) return enabled[0];
    return enabled[Math.floor(this.rng() * count)];
  }
}
