import { InvalidArgumentError } from '../log/errors.js';

/**
 * A position in a basin's global order: a record's commit key (an xid8, as decimal text), stream id and
 * seqNum. Reads continue strictly after a position. Internal; callers see it as an opaque {@link Cursor}.
 */
export interface Position {
  key: string;
  streamId: number;
  seqNum: number;
}

/**
 * An opaque, serialisable place in a basin's global log: every record read carries the cursor just after
 * itself, and `readAll({ after })`, `followAll({ after })` and consumer resets continue from one. Compare
 * cursors only for equality.
 */
export type Cursor = string;

/** Before every record: (0, 0, -1) precedes every key, and stream ids start at 1. */
export const START: Position = { key: '0', streamId: 0, seqNum: -1 };

/** Before every record whose commit key is `key` or more: what a read may skip to once it saw the horizon. */
export function before(key: string): Position {
  return { key, streamId: 0, seqNum: -1 };
}

const CURSOR = /^g1\.(\d{1,20})\.(\d{1,19})\.(-1|\d{1,19})$/;

/** The cursor of a position. */
export function encodeCursor(position: Position): Cursor {
  return `g1.${position.key}.${position.streamId}.${position.seqNum}`;
}

/**
 * Reads a cursor back into a position.
 *
 * @throws InvalidArgumentError when `cursor` is not one fencepost made.
 */
export function parseCursor(cursor: unknown, what = 'cursor'): Position {
  const match = typeof cursor === 'string' ? CURSOR.exec(cursor) : null;
  const streamId = match ? Number(match[2]) : NaN;
  const seqNum = match ? Number(match[3]) : NaN;
  if (!match || !Number.isSafeInteger(streamId) || !Number.isSafeInteger(seqNum)) {
    throw new InvalidArgumentError(
      `${what} must be a cursor returned by fencepost (like "g1.1234.5.6"); got ${JSON.stringify(cursor)}`,
    );
  }
  return { key: match[1]!, streamId, seqNum };
}

/** Whether `a` comes after `b` in global order. */
export function isAfter(a: Position, b: Position): boolean {
  if (a.key !== b.key) return BigInt(a.key) > BigInt(b.key);
  if (a.streamId !== b.streamId) return a.streamId > b.streamId;
  return a.seqNum > b.seqNum;
}
