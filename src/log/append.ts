import { appendParameters } from './append-statement.js';
import type { EncodedBatch } from './encode-batch.js';
import {
  BasinNotFoundError,
  FencingTokenMismatchError,
  InvalidArgumentError,
  SeqNumMismatchError,
  StorageError,
  StreamNotFoundError,
} from './errors.js';
import { assertOpen, type LogContext } from './log-context.js';
import { runQuery } from './run-query.js';
import type { AppendOptions, StreamPosition } from './types.js';

interface AppendRow {
  outcome: 'ok' | 'conflict' | 'no_stream' | 'no_stream_creatable';
  start: number | null;
  next_seq: number | null;
  last_ts: number | null;
  fencing_token: string | null;
  ts_mode: number | null;
  marks: number[] | null;
}

/** The result of one append statement: where the batch starts, the timestamps asked for, and the tail. */
export interface AppendOutcome {
  start: number;
  marks: number[];
  tail: StreamPosition;
}

/**
 * A statement can match nothing although its conditions hold: its snapshot predates a commit that made them
 * true (READ COMMITTED re-checks a changed row only when the old version matched), or a concurrent append
 * created the stream. Nothing was written then, so it is run again.
 */
const MAX_ATTEMPTS = 8;

/**
 * Appends an encoded batch in one statement and returns where it landed. `marks` are 1-based positions in
 * the batch whose timestamps are returned.
 *
 * @throws FencingTokenMismatchError, SeqNumMismatchError (nothing written), StreamNotFoundError,
 *   BasinNotFoundError, InvalidArgumentError (a `client-require` stream and a record without a timestamp),
 *   StorageError (definite), IndefiniteAppendError (the outcome is unknown).
 */
export async function appendEncoded(
  context: LogContext,
  basin: string,
  stream: string,
  batch: EncodedBatch,
  options: AppendOptions,
  marks: readonly number[],
): Promise<AppendOutcome> {
  const values = appendParameters(basin, stream, batch, options, marks);
  for (let attempt = 1; ; attempt++) {
    assertOpen(context);
    const rows = await runQuery<AppendRow>(
      context.pool,
      { name: context.statements.append.name, text: context.statements.append.text, values },
      'write',
    );
    const row = rows[0];
    if (row === undefined) throw new BasinNotFoundError(basin);
    if (row.outcome === 'ok') {
      const tail = { seqNum: row.next_seq!, timestamp: row.last_ts! };
      context.watcher.appended(basin, stream);
      return { start: row.start!, marks: row.marks ?? [], tail };
    }
    if (row.outcome === 'no_stream') throw new StreamNotFoundError(basin, stream);
    const current =
      row.outcome === 'conflict'
        ? { nextSeq: row.next_seq!, token: row.fencing_token!, tsMode: row.ts_mode! }
        : { nextSeq: 0, token: '', tsMode: row.ts_mode! };
    const failure = conditionFailure(current, batch, options);
    if (failure) throw failure;
    if (attempt >= MAX_ATTEMPTS) {
      throw new StorageError(
        `the append matched no stream row after ${attempt} attempts although its conditions hold`,
      );
    }
  }
}

/** Which condition the stream's current state fails: the token first, then `matchSeqNum`, then timestamps. */
function conditionFailure(
  current: { nextSeq: number; token: string; tsMode: number },
  batch: EncodedBatch,
  options: AppendOptions,
): Error | undefined {
  if (options.fencingToken !== undefined && options.fencingToken !== current.token) {
    return new FencingTokenMismatchError(current.token, options.fencingToken);
  }
  if (options.matchSeqNum !== undefined && options.matchSeqNum !== current.nextSeq) {
    return new SeqNumMismatchError(current.nextSeq, options.matchSeqNum);
  }
  if (batch.missingTimestamp && current.tsMode === 1) {
    const index = batch.timestamps.indexOf(null);
    return new InvalidArgumentError(
      `the stream's timestamping mode is client-require, and record ${index} has no timestamp`,
    );
  }
  return undefined;
}
