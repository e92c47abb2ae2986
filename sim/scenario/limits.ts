/** Bounds on a scenario's size: a scenario is input from anyone, a run must stay small and fast. */
export const LIMITS = {
  frames: { min: 4, max: 256 },
  cells: { min: 1, max: 64 },
  pages: 26,
  devices: 8,
  threads: 16,
  opsPerThread: 64,
  opsTotal: 256,
  maxSteps: { min: 10, max: 1_000_000 },
  maxRetries: { min: 0, max: 1000 },
  nameLength: 32,
} as const;
