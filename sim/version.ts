/**
 * The simulator's model version. A finding replays only under the version that produced it: any
 * change to a kernel path, an oracle or a strategy that can change decisions or verdicts bumps it.
 */
export const SIM_VERSION = 'racefarm-sim/0.6.4';
