import type { SimThread } from '../thread.ts';

/**
 * A scheduling strategy for one run. `pick` is called before every step with the enabled threads
 * (at least one, ordered by id); only picks among two or more become recorded decisions, so a
 * strategy must not consume randomness when `count` is 1. Returning null ends the run there
 * (pruned): the exhaustive search does so when every continuation is already covered.
 */
export interface Chooser {
  pick(enabled: readonly SimThread[], count: number, step: number): SimThread | null;
}
