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
import { groupable, type AppendedRow } from './append-groups.js';
import { withStorageErrors } from './with-storage-errors.js';
import { CLIENT_REQUIRE } from './statement-parts.js';
import type { AppendAck, AppendRecord } from './types.js';

/** One stream's part of {@link appendMany}: its records and its conditions. */
export interface AppendManyItem {
  /** The stream's basin (default: the log's default basin). */
  basin?: string;
  stream: string;
  /**
   * 0–1000 records without timestamps (they are stamped on arrival) and without command records. With none,
   * nothing is written to the stream, but it takes part in the append all the same: it is locked, its
   * conditions must hold for anything to be written, and a `commandId` is recorded on it (an empty range at
   * its tail). A command that changed one aggregate after reading another puts the other here with the
   * version it read. A missing stream is created, as for an item with records.
   */
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
  // A stream given no records needs the general statement, which locks streams without writing to them.
  if (!request.counts.includes(0)) {
    const acked = await fastPath(context, items, request, options);
    if (acked) return acked;
  }
  for (let attempt = 1; ; attempt++) {
    assertOpen(context);
    const rows = await run(context, context.statements.appendMany, request.values, options);
    if (rows.length === request.count && rows[0]!.start !== null) return acks(context, request, rows);
    const byOrd = new Map(rows.map((r) => [r.ord, r]));
    // Nothing was written: the first failure in the caller's order (a failed condition, or a missing stream
    // that its basin will not create), else create the missing streams.
    const missing: number[] = [];
    for (let i = 0; i < request.count; i++) if (!byOrd.has(i + 1)) missing.push(i);
    const basins =
      missing.length > 0
        ? await basinsOf(
            context,
            missing.map((i) => request.basins[i]!),
          )
        : null;
    for (let i = 0; i < request.count; i++) {
      const row = byOrd.get(i + 1);
      const item = items[i]!;
      const name = request.names[i]!;
      const stamped = request.counts[i]! > 0;
      let failure: Error | undefined;
      if (row) {
        failure = itemFailure(item, name, row.current_seq, row.fencing_token, stamped && row.ts_mode);
      } else {
        const basin = basins!.get(request.basins[i]!);
        if (!basin) throw new BasinNotFoundError(request.basins[i]!);
        if (!basin.create_stream_on_append) throw new StreamNotFoundError(request.basins[i]!, name);
        failure = itemFailure(item, name, 0, '', stamped && basin.ts_mode); // a new stream's state
      }
      if (failure) throw failure;
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
 * The statements for the usual shapes, each cheaper than the general one; undefined when the shape has none
 * or it matched nothing (the general statement then appends, or finds out why not).
 */
async function fastPath(
  context: LogContext,
  items: readonly AppendManyItem[],
  request: EncodedRequest,
  options: AppendManyOptions,
): Promise<AppendAck[] | undefined> {
  // One record to one stream (most commands): the log's single-record statement plus the command's row.
  if (request.count === 1 && request.batches[0]!.count === 1) {
    return appendOneRecord(context, items[0]!, request, options);
  }
  // Appends expecting empty streams most often create them: try creating them with their records first
  // (one round trip), and append to existing streams when that cannot be done.
  if (items.every((item) => item.matchSeqNum === 0)) {
    assertOpen(context);
    const rows = await run(context, context.statements.appendManyCreate, request.values, options);
    return rows.length === request.count ? acks(context, request, rows) : undefined;
  }
  // One existing stream needs no ordered locking: the conditional update of its row, as a single append.
  if (request.count === 1) {
    assertOpen(context);
    const rows = await run(context, context.statements.appendManyOne, request.values, options);
    return rows.length === 1 ? acks(context, request, rows) : undefined;
  }
  return undefined;
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
    const alone = async () => {
      const [row] = await run<AppendedRow>(
        context,
        context.statements.appendOneCommand[head],
        values,
        options,
      );
      return row;
    };
    // The update may share a statement with other callers' appends (see append-groups.ts). appendMany refuses
    // command records, so its one record is always groupable; checked here all the same, where it matters.
    const row =
      head === 'update' && groupable(request.batches[0]!)
        ? await context.groups.run(
            {
              basin: request.basins[0]!,
              stream: request.names[0]!,
              batch: request.batches[0]!,
              options: conditions,
              commandId: options.commandId ?? null,
            },
            alone,
          )
        : await alone();
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
    if (request.counts[i]! > 0) appended(context, request.basins[i]!, request.names[i]!, byOrd.get(i + 1)!);
  }
  return request.counts.map((count, i) => {
    const row = byOrd.get(i + 1)!;
    const position = (seqNum: number) => ({ seqNum, timestamp: row.last_ts! });
    return { start: position(row.start!), end: position(row.start! + count), tail: position(row.next_seq!) };
  });
}

/** Whether each of the basins (those that exist) creates streams on append, and its timestamping mode. */
async function basinsOf(
  context: LogContext,
  names: string[],
): Promise<Map<string, { create_stream_on_append: boolean; ts_mode: number }>> {
  const rows = await withStorageErrors('read', () =>
    context.db
      .selectFrom('basins')
      .select(['name', 'create_stream_on_append', 'ts_mode'])
      .where('name', 'in', [...new Set(names)])
      .execute(),
  );
  return new Map(rows.map((row) => [row.name, row]));
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

/**
 * Which condition an item fails on its stream's current state: the token, `matchSeqNum`, then timestamps
 * (`tsMode`: the stream's, when the item has records to stamp; false when it has none).
 */
function itemFailure(
  item: AppendManyItem,
  stream: string,
  nextSeq: number,
  token: string,
  tsMode: number | false,
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
