import { appendOneParameters, appendParameters } from './append-statement.js';
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
import { Streams } from './streams.js';
import type { AppendOptions, StreamPosition } from './types.js';

interface AppendRow {
  ok: boolean;
  start: number | null;
  next_seq: number;
  last_ts: number;
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
 * true (READ COMMITTED re-checks a changed row only when the old version matched), or the stream did not
 * exist and was created since. Nothing was written then, so it runs again.
 */
const MAX_ATTEMPTS = 8;

/**
 * Appends an encoded batch in one statement and returns where it landed. `marks` are 1-based positions in
 * the batch whose timestamps are returned. A missing stream is created first when its basin creates streams
 * on append and the conditions hold for a new stream (tail 0, token '').
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
  const one = batch.count === 1;
  const statement = one ? context.statements.appendOne : context.statements.append;
  const values = one
    ? appendOneParameters(basin, stream, batch, options)
    : appendParameters(basin, stream, batch, options, marks);
  for (let attempt = 1; ; attempt++) {
    assertOpen(context);
    const [row] = await runQuery<AppendRow>(context.pool, { ...statement, values }, 'write');
    if (row?.ok) {
      context.watcher.appended(basin, stream);
      const stamps = row.marks!;
      return {
        start: row.start!,
        // The single-record statement returns the record's timestamp once, for every mark.
        marks: one ? marks.map(() => stamps[0]!) : stamps,
        tail: { seqNum: row.next_seq, timestamp: row.last_ts },
      };
    }
    const failure = row
      ? conditionFailure(
          { nextSeq: row.next_seq, token: row.fencing_token!, tsMode: row.ts_mode! },
          batch,
          options,
        )
      : await createStream(context, basin, stream, batch, options);
    if (failure) throw failure;
    if (attempt >= MAX_ATTEMPTS) {
      throw new StorageError(
        `the append matched no stream row after ${attempt} attempts although its conditions hold`,
      );
    }
  }
}

/**
 * The stream does not exist: creates it if its basin creates streams on append and the append's conditions
 * hold for a new stream; otherwise returns the error to throw.
 */
async function createStream(
  context: LogContext,
  basin: string,
  stream: string,
  batch: EncodedBatch,
  options: AppendOptions,
): Promise<Error | undefined> {
  const found = await context.db
    .selectFrom('basins')
    .select(['create_stream_on_append', 'ts_mode'])
    .where('name', '=', basin)
    .executeTakeFirst();
  if (!found) return new BasinNotFoundError(basin);
  if (!found.create_stream_on_append) return new StreamNotFoundError(basin, stream);
  const failure = conditionFailure({ nextSeq: 0, token: '', tsMode: found.ts_mode }, batch, options);
  if (failure) return failure;
  await new Streams(context, basin).createRow(stream);
  return undefined;
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
