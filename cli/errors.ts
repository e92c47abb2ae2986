/**
 * Exit statuses of the CLI (README.md "Command line"). `fuzz` exits 0 whether or not it found races; `repro`
 * exits 1 when a finding no longer reproduces; every kind of bad input exits 2.
 */
export const EXIT = {
  ok: 0,
  notReproduced: 1,
  badInput: 2,
  /** A bug in racefarm itself (an exception that is not about the input). */
  internal: 3,
  /** A farm client command failed: the coordinator is unreachable, did not answer, or refused (cli/farmErrors.ts). */
  farm: 4,
} as const;

/** Bad command-line input that is not a scenario/variant/finding field (those throw sim's InputError). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
