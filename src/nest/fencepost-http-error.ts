import { DomainError } from '../aggregates/errors.js';
import type { FencepostError } from '../log/errors.js';

/** An HTTP status and JSON body for a fencepost error. */
export interface FencepostHttpError {
  readonly status: number;
  /** `{ statusCode, code, message, ...data }`, data being the error's own fields (`expectedSeqNum`, ...). */
  readonly body: { statusCode: number; code: string; message: string; [field: string]: unknown };
}

/**
 * The one place fencepost error codes become HTTP statuses. Conditions that failed on the log are S2's 412
 * (the body names `expectedSeqNum` / `expectedFencingToken`); a command that still conflicts after its
 * retries is a 409; bad input (`invalid`) is 400; missing basins, streams and aggregates 404; things that
 * exist already 409; a domain rule a command broke (a `DomainError`, whatever its code) 409 with its data; an
 * unreachable or closed store 503 (`indefinite: true` when a write may have landed), as is a refusal that
 * may pass (`storage`, `transient`); another the database refused is 500: it would fail again. Anything else, including
 * a stored record that cannot be decoded (`event_decode`: the server's data, not the request, is at fault)
 * and a command with no handler, is 500.
 */
export const HTTP_STATUS_BY_CODE: Readonly<Record<string, number>> = {
  invalid: 400,
  seq_num_mismatch: 412,
  fencing_token_mismatch: 412,
  range_not_satisfiable: 416,
  stream_not_found: 404,
  basin_not_found: 404,
  resource_already_exists: 409,
  aggregate_not_found: 404,
  aggregate_already_exists: 409,
  concurrency_conflict: 409,
  duplicate_command: 409,
  closed: 503,
  storage: 503,
  indefinite: 503,
};

/** Fields every error has; the rest of an error's own fields are its data. */
const NOT_DATA = new Set(['name', 'message', 'stack', 'cause', 'code']);

/**
 * Maps a fencepost error to its HTTP status and body.
 *
 * @example
 * httpErrorOf(new SeqNumMismatchError(7, 5));
 * // { status: 412, body: { statusCode: 412, code: 'seq_num_mismatch', message: '...', expectedSeqNum: 7 } }
 */
export function httpErrorOf(error: FencepostError): FencepostHttpError {
  const status = statusOf(error);
  if (status >= 500 && !(error instanceof DomainError)) {
    // The server's trouble: its message can carry the database's own text (SQL, names), which stays in the
    // server's log; the client gets the code, and whether a write may have landed.
    const message =
      status === 503 ? 'the event store is unavailable; try again later' : 'internal server error';
    const indefinite = (error as { indefinite?: unknown }).indefinite === true ? { indefinite: true } : {};
    return { status, body: { ...indefinite, statusCode: status, code: error.code, message } };
  }
  const data = Object.fromEntries(
    Object.entries(error).filter(([key, value]) => !NOT_DATA.has(key) && value !== undefined),
  );
  if (data.indefinite === false) delete data.indefinite;
  return { status, body: { ...data, statusCode: status, code: error.code, message: error.message } };
}

function statusOf(error: FencepostError): number {
  if (error instanceof DomainError) return 409; // a business rule, whatever code the application gave it
  if (error.code === 'storage' && (error as { transient?: unknown }).transient === false) return 500;
  return HTTP_STATUS_BY_CODE[error.code] ?? 500;
}
