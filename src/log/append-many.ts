import { encodeRequest, type EncodedRequest } from './encode-append-many.js';
import {
  BasinNotFoundError,
  DuplicateCommandError,
  InvalidArgumentError,
  StorageError,
  StreamNotFoundError,
} from './errors.js';
import { appendOneParameters } from './append-one-statement.js';
import { conditionFailure } from './condition-failure.js';
import {
  appended,
  assertOpen,
  type Head,
  type LogContext,
  type Statement,
  type Written,
} from './log-context.js';
import { runQuery } from './run-query.js';
import { CLIENT_REQUIRE } from './statement-parts.js';
import type { AppendAck, AppendRecord } from './types.js';

/** One stream's part of {@link appendMany}: its records and its conditions. */
export interface AppendManyItem {
  /** The stream's basin (default: the log's default basin). */
  basin?: string;
  stream: string;
  /** 1–1000 records without timestamps (they are stamped on arrival) and without command records. */
  records: readonly AppendRecord[];
  matchSeqNum?: number;
  fencingToken?: string;
}

/** Options of {@link appendMany}. */
export interface AppendManyOptions {
  /**
   * Record this command id on every stream of the append, in the same transaction: an append with an id
   * recorded already on any of its streams writes nothing and fails with `DuplicateCommandError`.
   * 1–512 characters.
   */
  commandId?: string;
}

interface ManyRow extends Written {
  ord: number;
  current_seq: number;
  fencing_token: string;
  ts_mode: number;
  start: number | null;
  next_seq: number | null;
  last_ts: number | null;
}

const MAX_ATTEMPTS = 4;
const UNIQUE_VIOLATION = '23505';

/**
 * Appends to several streams atomically: every stream gets its records or none does. Each stream's
 * conditions (fencing token, then matchSeqNum) are checked under its row lock, and the locks are taken in
 * (basin, name) order, so concurrent multi-stream appends never deadlock. Missing streams are created first
 * when their basin creates streams on append and their conditions hold for a new stream. Returns one ack
 * per item, in order. Internal: `EventLog.appendMany` validates the names and calls this.
 *
 * @throws FencingTokenMismatchError | SeqNumMismatchError (naming the `stream`; nothing written),
 *   DuplicateCommandError (nothing written), InvalidArgumentError (before anything is sent),
 *   StreamNotFoundError, BasinNotFoundError, StorageError, IndefiniteAppendError.
 */
export async function appendMany(
  context: LogContext,
  defaultBasin: string,
  items: readonly AppendManyItem[],
  options: AppendManyOptions = {},
): Promise<AppendAck[]> {
  assertOpen(context);
  const request = encodeRequest(defaultBasin, items, options);
  // One record to one stream (most commands): the log's single-record statement plus the command's row.
  // When it matched nothing, the fast paths below would match nothing either: the general statement
  // finds out why.
  const single = request.count === 1 && request.batches[0]!.count === 1;
  if (single) {
    const acked = await appendOneRecord(context, items[0]!, request, options);
    if (acked) return acked;
  }
  // Appends expecting empty streams most often create them: try creating them with their records first
  // (one round trip), and append to existing streams when that cannot be done.
  else if (items.every((item) => item.matchSeqNum === 0)) {
    assertOpen(context);
    const rows = await run(context, context.statements.appendManyCreate, request.values, options);
    if (rows.length === request.count) return acks(context, request, rows);
  }
  // One existing stream needs no ordered locking: the conditional update of its row, as a single append.
  // When it matches nothing, the general statement below finds out why.
  else if (request.count === 1) {
    assertOpen(context);
    const rows = await run(context, context.statements.appendManyOne, request.values, options);
    if (rows.length === 1) return acks(context, request, rows);
  }
  for (let attempt = 1; ; attempt++) {
    assertOpen(context);
    const rows = await run(context, context.statements.appendMany, request.values, options);
    if (rows.length === request.count && rows[0]!.start !== null) return acks(context, request, rows);
    const byOrd = new Map(rows.map((r) => [r.ord, r]));
    // Nothing was written: the first failed condition, in the caller's order, or missing streams.
    const missing: number[] = [];
    for (let i = 0; i < request.count; i++) {
      const row = byOrd.get(i + 1);
      const item = items[i]!;
      const failure = row
        ? itemFailure(item, request.names[i]!, row.current_seq, row.fencing_token, row.ts_mode)
        : itemFailure(item, request.names[i]!, 0, '', 0);
      if (failure) throw failure;
      if (!row) missing.push(i);
    }
    if (attempt >= MAX_ATTEMPTS) {
      throw new StorageError(
        `appendMany matched its streams after ${attempt} attempts although its conditions hold`,
      );
    }
    // Create what is missing and run again; with nothing missing, every condition holds now (the
    // statement's snapshot predated a commit that made them true), so it simply runs again.
    if (missing.length > 0) await createMissing(context, request, missing);
  }
}

/**
 * Runs one of the statements; no rows also when a stream it was to create exists already (a key conflict
 * on streams: nothing was written).
 *
 * @throws DuplicateCommandError, StorageError, IndefiniteAppendError.
 */
async function run<R extends object = ManyRow>(
  context: LogContext,
  statement: Statement,
  values: unknown[],
  options: AppendManyOptions,
): Promise<R[]> {
  try {
    return await runQuery<R>(context.pool, { ...statement, values }, 'write');
  } catch (error) {
    const cause = (error as { cause?: { code?: unknown; constraint?: unknown } }).cause;
    if (error instanceof StorageError && cause?.code === UNIQUE_VIOLATION) {
      if (cause.constraint === 'commands_pkey') {
        throw new DuplicateCommandError(options.commandId!, { cause: error });
      }
      if (cause.constraint === 'streams_basin_name_key') return [];
    }
    throw error;
  }
}

/**
 * The append of one record to one stream by the single-record statement: creating the stream first when
 * the append expects it empty, else updating it. Undefined when it matched nothing (the general statement
 * then finds out why).
 */
async function appendOneRecord(
  context: LogContext,
  item: AppendManyItem,
  request: EncodedRequest,
  options: AppendManyOptions,
): Promise<AppendAck[] | undefined> {
  const conditions = { matchSeqNum: item.matchSeqNum, fencingToken: item.fencingToken };
  const values = [
    ...appendOneParameters(request.basins[0]!, request.names[0]!, request.batches[0]!, conditions),
    options.commandId ?? null,
  ];
  const heads: Head[] = item.matchSeqNum === 0 ? ['create', 'update'] : ['update'];
  for (const head of heads) {
    assertOpen(context);
    const statement = context.statements.appendOneCommand[head];
    const [row] = await run<Written & { seq_num: number; timestamp: number }>(
      context,
      statement,
      values,
      options,
    );
    if (!row) continue;
    appended(context, request.basins[0]!, request.names[0]!, row);
    const position = (seqNum: number) => ({ seqNum, timestamp: row.timestamp });
    return [
      { start: position(row.seq_num), end: position(row.seq_num + 1), tail: position(row.seq_num + 1) },
    ];
  }
  return undefined;
}

/** The acks of a written append, in the caller's order; followers of the streams are woken. */
function acks(context: LogContext, request: EncodedRequest, rows: ManyRow[]): AppendAck[] {
  const byOrd = new Map(rows.map((r) => [r.ord, r]));
  for (let i = 0; i < request.count; i++) {
    appended(context, request.basins[i]!, request.names[i]!, byOrd.get(i + 1)!);
  }
  return request.counts.map((count, i) => {
    const row = byOrd.get(i + 1)!;
    const position = (seqNum: number) => ({ seqNum, timestamp: row.last_ts! });
    return { start: position(row.start!), end: position(row.start! + count), tail: position(row.next_seq!) };
  });
}

/** Creates the missing streams, or throws BasinNotFoundError / StreamNotFoundError for the first that cannot be. */
async function createMissing(context: LogContext, request: EncodedRequest, missing: number[]): Promise<void> {
  const basins = missing.map((i) => request.basins[i]!);
  const names = missing.map((i) => request.names[i]!);
  const rows = await runQuery<{ name: string; create_stream_on_append: boolean }>(
    context.pool,
    { ...context.statements.createStreams, values: [basins, names] },
    'write',
  );
  const creates = new Map(rows.map((r) => [r.name, r.create_stream_on_append]));
  for (let k = 0; k < missing.length; k++) {
    const basin = basins[k]!;
    if (!creates.has(basin)) throw new BasinNotFoundError(basin);
    if (!creates.get(basin)) throw new StreamNotFoundError(basin, names[k]!);
  }
}

/** Which condition an item fails on its stream's current state: the token, `matchSeqNum`, then timestamps. */
function itemFailure(
  item: AppendManyItem,
  stream: string,
  nextSeq: number,
  token: string,
  tsMode: number,
): Error | undefined {
  const condition = conditionFailure({ nextSeq, token }, item, stream);
  if (condition) return condition;
  if (tsMode === CLIENT_REQUIRE) {
    return new InvalidArgumentError(
      `stream ${JSON.stringify(stream)} requires client timestamps, and appendMany stamps records on arrival`,
    );
  }
  return undefined;
}
