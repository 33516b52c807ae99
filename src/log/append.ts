import { appendParameters } from './append-batch-statement.js';
import { appendOneParameters } from './append-one-statement.js';
import { groupable, type AppendedRow } from './append-groups.js';
import type { EncodedBatch } from './encode-batch.js';
import { BasinNotFoundError, InvalidArgumentError, StorageError, StreamNotFoundError } from './errors.js';
import { conditionFailure } from './condition-failure.js';
import { appended, assertOpen, type Head, type LogContext, type Written } from './log-context.js';
import { runQuery } from './run-query.js';
import { CLIENT_REQUIRE } from './statement-parts.js';
import type { AppendOptions, StreamPosition } from './types.js';

interface BatchRow extends Written {
  start: number;
  next_seq: number;
  last_ts: number;
  marks: number[] | null;
}

interface StateRow {
  create_stream_on_append: boolean;
  basin_ts_mode: number;
  next_seq: number | null;
  last_ts: number | null;
  fencing_token: string | null;
  ts_mode: number | null;
}

/** The result of one append statement: where the batch starts, the timestamps asked for, and the tail. */
export interface AppendOutcome {
  start: number;
  marks: number[];
  tail: StreamPosition;
  /** The stream's id, and whether its row is marked watched. */
  written: Written;
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
  const { statements, pool } = context;
  // An append expecting an empty stream most often creates it: try creating first (one round trip), and
  // append to the existing stream when it is there already.
  let head: Head = options.matchSeqNum === 0 ? 'create' : 'update';
  // A single record may share its first update with other callers' appends (see append-groups.ts); a run
  // after that one goes alone.
  let grouped = groupable(batch);
  for (let attempt = 1; ; attempt++) {
    assertOpen(context);
    const request = { context, basin, stream, batch, options, marks };
    const group = grouped && head === 'update';
    if (group) grouped = false;
    const outcome =
      batch.count === 1 ? await appendOne(request, head, group) : await appendMany(request, head);
    if (!outcome && head === 'create') {
      head = 'update'; // the stream exists already: append to it
      continue;
    }
    if (outcome) {
      appended(context, basin, stream, outcome.written);
      return outcome;
    }
    const [state] = await runQuery<StateRow>(
      pool,
      {
        ...statements.state,
        values: [
          basin,
          stream,
          options.matchSeqNum ?? null,
          options.fencingToken ?? null,
          batch.missingTimestamp,
        ],
      },
      'read',
    );
    const failure = explain(basin, stream, state, batch, options);
    if (failure) throw failure;
    if (attempt >= MAX_ATTEMPTS) {
      throw new StorageError(
        `the append matched no stream row after ${attempt} attempts although its conditions hold`,
      );
    }
  }
}

/** One append, as the statements see it. */
interface AppendRequest {
  context: LogContext;
  basin: string;
  stream: string;
  batch: EncodedBatch;
  options: AppendOptions;
  marks: readonly number[];
}

async function appendOne(
  { context, basin, stream, batch, options, marks }: AppendRequest,
  head: Head,
  group: boolean,
): Promise<AppendOutcome | undefined> {
  const alone = async () => {
    const values = appendOneParameters(basin, stream, batch, options);
    const statement = { ...context.statements.appendOne[head], values };
    const [row] = await runQuery<AppendedRow>(context.pool, statement, 'write');
    return row;
  };
  const row = group
    ? await context.groups.run({ basin, stream, batch, options, commandId: null }, alone)
    : await alone();
  if (!row) return undefined;
  const tail = { seqNum: row.seq_num + 1, timestamp: row.timestamp };
  return { start: row.seq_num, marks: marks.map(() => row.timestamp), tail, written: row };
}

async function appendMany(
  { context, basin, stream, batch, options, marks }: AppendRequest,
  head: Head,
): Promise<AppendOutcome | undefined> {
  // Without client timestamps, every record gets the stream's new last timestamp: no window, no marks.
  const stamping = batch.timestamps.every((t) => t === null) ? 'arrival' : 'client';
  const values = appendParameters(basin, stream, batch, options, stamping === 'client' ? marks : undefined);
  const statement = context.statements.append[head][stamping];
  const [row] = await runQuery<BatchRow>(context.pool, { ...statement, values }, 'write');
  if (!row) return undefined;
  const stamps = row.marks ?? marks.map(() => row.last_ts);
  return {
    start: row.start,
    marks: stamps,
    tail: { seqNum: row.next_seq, timestamp: row.last_ts },
    written: row,
  };
}

/**
 * Why an append matched nothing, from the state read after it: the error to throw, or undefined when the
 * conditions hold now (a stale snapshot, or the stream was just created) and the append should run again.
 */
function explain(
  basin: string,
  stream: string,
  state: StateRow | undefined,
  batch: EncodedBatch,
  options: AppendOptions,
): Error | undefined {
  if (!state) return new BasinNotFoundError(basin);
  if (state.next_seq === null) {
    if (!state.create_stream_on_append) return new StreamNotFoundError(basin, stream);
    return failure({ nextSeq: 0, token: '', tsMode: state.basin_ts_mode }, batch, options);
  }
  return failure(
    { nextSeq: state.next_seq, token: state.fencing_token!, tsMode: state.ts_mode! },
    batch,
    options,
  );
}

/** Which condition the stream's current state fails: the token first, then `matchSeqNum`, then timestamps. */
function failure(
  current: { nextSeq: number; token: string; tsMode: number },
  batch: EncodedBatch,
  options: AppendOptions,
): Error | undefined {
  const condition = conditionFailure(current, options);
  if (condition) return condition;
  if (batch.missingTimestamp && current.tsMode === CLIENT_REQUIRE) {
    const index = batch.timestamps.indexOf(null);
    return new InvalidArgumentError(
      `the stream's timestamping mode is client-require, and record ${index} has no timestamp`,
    );
  }
  return undefined;
}
