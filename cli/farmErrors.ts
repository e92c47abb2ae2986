import { EXIT } from './errors.ts';
import { escapeText } from '../farm/safeText.ts';

/** gRPC status names (@grpc/grpc-js `status`), for the one line a farm client error prints. */
const STATUS_NAMES: Record<number, string> = {
  1: 'CANCELLED', 2: 'UNKNOWN', 3: 'INVALID_ARGUMENT', 4: 'DEADLINE_EXCEEDED', 5: 'NOT_FOUND', 6: 'ALREADY_EXISTS', 7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED', 9: 'FAILED_PRECONDITION', 10: 'ABORTED', 12: 'UNIMPLEMENTED', 13: 'INTERNAL', 14: 'UNAVAILABLE', 16: 'UNAUTHENTICATED',
};
const INVALID_ARGUMENT = 3;
const DEADLINE_EXCEEDED = 4;
const NOT_FOUND = 5;
const UNAVAILABLE = 14;

export function statusName(code: number): string {
  return STATUS_NAMES[code] ?? `status ${code}`;
}

export function isGrpcError(e: unknown): e is { code: number; details: string } {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'number' && typeof (e as { details?: unknown }).details === 'string';
}

/** Why a connection failed, from grpc-js's details (which quote the socket error), in a few words. */
function connectionProblem(details: string): string | null {
  if (/ECONNREFUSED/.test(details)) return 'connection refused';
  if (/Name resolution failed|ENOTFOUND|EAI_AGAIN/.test(details)) return 'cannot resolve its host name';
  if (/EHOSTUNREACH/.test(details)) return 'host unreachable';
  if (/ENETUNREACH/.test(details)) return 'network unreachable';
  if (/ETIMEDOUT/.test(details)) return 'connection timed out';
  if (/ECONNRESET/.test(details)) return 'connection reset';
  return null;
}

/**
 * Coordinator text on one line for a terminal: grpc-js's empty trailer ("Resolution note: ") dropped,
 * line breaks joined, control characters escaped and the length capped (farm/safeText.ts).
 */
function oneLine(s: string, max = 12_000): string {
  return escapeText(s.replace(/\s*Resolution note:\s*$/, '').replace(/\s*\n\s*/g, '; ').trim(), max);
}

/**
 * A farm client error as the one line `racefarm:` prints and the exit status (README.md "Exit
 * status"): 2 when the request is bad or names what the farm does not have (INVALID_ARGUMENT,
 * NOT_FOUND, or a local input error), else EXIT.farm (4) — the coordinator is unreachable, did not
 * answer in time, or refused the call. Never 1: that means "did not reproduce".
 */
export function farmError(e: unknown, address: string): { line: string; code: number } {
  if (isGrpcError(e)) {
    const details = oneLine(e.details);
    if (e.code === UNAVAILABLE) {
      const why = connectionProblem(details);
      return { line: `cannot reach the coordinator at ${address}: ${why ?? details}`, code: EXIT.farm };
    }
    if (e.code === DEADLINE_EXCEEDED) return { line: `the coordinator at ${address} did not answer in time (${details})`, code: EXIT.farm };
    const bad = e.code === INVALID_ARGUMENT || e.code === NOT_FOUND;
    return { line: `${statusName(e.code)}: ${details}`, code: bad ? EXIT.badInput : EXIT.farm };
  }
  const err = e as { message?: string; code?: string };
  return { line: oneLine(String(err?.message ?? e), 2000), code: err?.code === 'EINPUT' ? EXIT.badInput : EXIT.farm };
}
