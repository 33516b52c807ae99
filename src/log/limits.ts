/** Limits of the log, as in S2. */
export const MAX_BATCH_RECORDS = 1000;
export const MAX_BATCH_BYTES = 1024 * 1024;
export const MAX_FENCING_TOKEN_BYTES = 36;
export const MAX_STREAM_NAME_BYTES = 512;
/** Unary reads return at most this many records and metered bytes. */
export const MAX_READ_RECORDS = 1000;
export const MAX_READ_BYTES = 1024 * 1024;
/** The longest a unary read may wait at the tail, in seconds. */
export const MAX_READ_WAIT_SECONDS = 60;

/**
 * The metered size of a record, as S2 counts it: 8 bytes, 2 per header, and the bytes of header names,
 * header values and the body.
 */
export function meteredSize(headerCount: number, headerBytes: number, bodyBytes: number): number {
  return 8 + 2 * headerCount + headerBytes + bodyBytes;
}
