/**
 * A thread yields a Gate to say what its next atomic step waits for (a lock, a PRI response, work
 * to do). The scheduler only offers threads whose gate is open, so a step that starts never blocks
 * half-way: that is what keeps every step atomic and the step order a linearization.
 */
export interface Gate {
  isOpen(): boolean;
}

/** The gate of a step that can always run. */
export const ALWAYS: Gate = { isOpen: () => true };
