import { boolArray, intArray, textArray } from './array-literal.js';
import { toBuffer } from './bytes.js';
import { encodeBatch, type EncodedBatch } from './encode-batch.js';
import {
  BasinNotFoundError,
  DuplicateCommandError,
  FencingTokenMismatchError,
  InvalidArgumentError,
  SeqNumMismatchError,
  StorageError,
  StreamNotFoundError,
} from './errors.js';
import { assertOpen, type LogContext, type Statement } from './log-context.js';
import { checkBasinName, checkStreamName } from './names.js';
import { runQuery } from './run-query.js';
import { CLIENT_REQUIRE } from './statement-parts.js';
import type { AppendAck, AppendRecord, Bytes } from './types.js';

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

interface ManyRow {
  ord: number;
  current_seq: number;
  fencing_token: string;
  ts_mode: number;
  start: number | null;
  next_seq: number | null;
  last_ts: number | null;
}

const MAX_STREAMS = 100;
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
  // Appends expecting empty streams most often create them: try creating them with their records first
  // (one round trip), and append to existing streams when that cannot be done.
  if (items.every((item) => item.matchSeqNum === 0)) {
    assertOpen(context);
    const rows = await run(context, context.statements.appendManyCreate, request, options);
    if (rows && rows.length === request.count) return acks(context, request, rows);
  }
  // One existing stream needs no ordered locking: the conditional update of its row, as a single append.
  // When it matches nothing, the general statement below finds out why.
  else if (request.count === 1) {
    assertOpen(context);
    const rows = await run(context, context.statements.appendManyOne, request, options);
    if (rows && rows.length === 1) return acks(context, request, rows);
  }
  for (let attempt = 1; ; attempt++) {
    assertOpen(context);
    const rows = (await run(context, context.statements.appendMany, request, options)) ?? [];
    if (rows.length === request.count && rows[0]!.start !== null) return acks(context, request, rows);
    const byOrd = new Map(rows.map((r) => [r.ord, r]));
    // Nothing was written: the first failed condition, in the caller's order, or missing streams.
    const missing: number[] = [];
    for (let i = 0; i < request.count; i++) {
      const row = byOrd.get(i + 1);
      const item = items[i]!;
      const failure = row
        ? conditionFailure(item, request.names[i]!, row.current_seq, row.fencing_token, row.ts_mode)
        : conditionFailure(item, request.names[i]!, 0, '', 0);
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
 * Runs one of the statements; undefined when a stream it was to create exists already (a key conflict on
 * streams: nothing was written).
 *
 * @throws DuplicateCommandError, StorageError, IndefiniteAppendError.
 */
async function run(
  context: LogContext,
  statement: Statement,
  request: EncodedRequest,
  options: AppendManyOptions,
): Promise<ManyRow[] | undefined> {
  try {
    return await runQuery<ManyRow>(context.pool, { ...statement, values: request.values }, 'write');
  } catch (error) {
    const cause = (error as { cause?: { code?: unknown; constraint?: unknown } }).cause;
    if (error instanceof StorageError && cause?.code === UNIQUE_VIOLATION) {
      if (cause.constraint === 'commands_pkey') {
        throw new DuplicateCommandError(options.commandId!, { cause: error });
      }
      if (cause.constraint === 'streams_basin_name_key') return undefined;
    }
    throw error;
  }
}

/** The acks of a written append, in the caller's order; followers of the streams are woken. */
function acks(context: LogContext, request: EncodedRequest, rows: ManyRow[]): AppendAck[] {
  for (let i = 0; i < request.count; i++) context.watcher.appended(request.basins[i]!, request.names[i]!);
  const byOrd = new Map(rows.map((r) => [r.ord, r]));
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

function conditionFailure(
  item: AppendManyItem,
  stream: string,
  nextSeq: number,
  token: string,
  tsMode: number,
): Error | undefined {
  if (item.fencingToken !== undefined && item.fencingToken !== token) {
    return new FencingTokenMismatchError(token, item.fencingToken, stream);
  }
  if (item.matchSeqNum !== undefined && item.matchSeqNum !== nextSeq) {
    return new SeqNumMismatchError(nextSeq, item.matchSeqNum, stream);
  }
  if (tsMode === CLIENT_REQUIRE) {
    return new InvalidArgumentError(
      `stream ${JSON.stringify(stream)} requires client timestamps, and appendMany stamps records on arrival`,
    );
  }
  return undefined;
}

/** An append to several streams, validated and laid out as the statement's parameters. @internal */
export interface EncodedRequest {
  count: number;
  basins: string[];
  names: string[];
  counts: number[];
  values: unknown[];
}

/**
 * Validates every item (names, limits, conditions) and lays the whole append out as parameters.
 *
 * @throws InvalidArgumentError naming the item, the rule and the value.
 * @internal
 */
export function encodeRequest(
  defaultBasin: string,
  items: readonly AppendManyItem[],
  options: AppendManyOptions,
): EncodedRequest {
  if (!Array.isArray(items) || items.length < 1 || items.length > MAX_STREAMS) {
    throw new InvalidArgumentError(
      `appendMany takes 1–${MAX_STREAMS} streams; got ${Array.isArray(items) ? items.length : typeof items}`,
    );
  }
  const commandId = options.commandId;
  if (
    commandId !== undefined &&
    (typeof commandId !== 'string' || commandId.length < 1 || commandId.length > 512)
  ) {
    throw new InvalidArgumentError(
      `commandId must be a string of 1–512 characters; got ${JSON.stringify(commandId)}`,
    );
  }
  const basins: string[] = [];
  const names: string[] = [];
  const seen = new Set<string>();
  const batches: EncodedBatch[] = [];
  items.forEach((item, i) => {
    if (item === null || typeof item !== 'object')
      throw new InvalidArgumentError(`appendMany item ${i} must be an object`);
    const basin = item.basin === undefined ? defaultBasin : checkBasinName(item.basin);
    const name = checkStreamName(item.stream);
    const key = `${basin}\u0000${name}`;
    if (seen.has(key)) {
      throw new InvalidArgumentError(
        `appendMany names stream ${JSON.stringify(name)} of basin ${basin} twice (item ${i})`,
      );
    }
    seen.add(key);
    let batch: EncodedBatch;
    try {
      batch = encodeBatch(item.records, { matchSeqNum: item.matchSeqNum, fencingToken: item.fencingToken });
    } catch (error) {
      if (error instanceof InvalidArgumentError) {
        throw new InvalidArgumentError(
          `appendMany item ${i} (stream ${JSON.stringify(name)}): ${error.message}`,
          {
            cause: error,
          },
        );
      }
      throw error;
    }
    if (batch.newToken !== null || batch.trimTargets.length > 0) {
      throw new InvalidArgumentError(
        `appendMany item ${i}: command records (fence, trim) are not allowed here`,
      );
    }
    const stamped = batch.timestamps.findIndex((t) => t !== null);
    if (stamped >= 0) {
      throw new InvalidArgumentError(
        `appendMany item ${i} record ${stamped}: records are stamped on arrival and must not carry a timestamp`,
      );
    }
    basins.push(basin);
    names.push(name);
    batches.push(batch);
  });
  return {
    count: items.length,
    basins,
    names,
    counts: batches.map((b) => b.count),
    values: parameters(items, basins, names, batches, commandId),
  };
}

function parameters(
  items: readonly AppendManyItem[],
  basins: string[],
  names: string[],
  batches: EncodedBatch[],
  commandId: string | undefined,
): unknown[] {
  const streamOrds: number[] = [];
  const bodyOffsets: number[] = [];
  const bodyLengths: number[] = [];
  const headerOffsets: number[] = [];
  const headerCounts: number[] = [];
  const sizes: number[] = [];
  const utf8: boolean[] = [];
  const text = batches.every((b) => b.headerText !== null);
  const headers: Bytes[] = [];
  const bodies: Buffer[] = [];
  let bodyBase = 0;
  batches.forEach((batch, s) => {
    const headerBase = headers.length;
    for (let r = 0; r < batch.count; r++) {
      streamOrds.push(s + 1);
      bodyOffsets.push(bodyBase + batch.bodyOffsets[r]!);
      bodyLengths.push(batch.bodyLengths[r]!);
      headerOffsets.push(headerBase + batch.headerOffsets[r]!);
      headerCounts.push(batch.headerCounts[r]!);
      sizes.push(batch.sizes[r]!);
      utf8.push(batch.utf8[r]!);
    }
    if (text) headers.push(...batch.headerText!);
    else headers.push(...batch.headers);
    bodies.push(batch.body);
    bodyBase += batch.body.length;
  });
  return [
    basins,
    names,
    intArray(items.map((i) => i.matchSeqNum ?? null)),
    items.map((i) => i.fencingToken ?? null),
    intArray(batches.map((b) => b.count)),
    intArray(streamOrds),
    intArray(bodyOffsets),
    intArray(bodyLengths),
    intArray(headerOffsets),
    intArray(headerCounts),
    intArray(sizes),
    boolArray(utf8),
    bodies.length === 1 ? bodies[0] : Buffer.concat(bodies),
    text ? textArray(headers as string[]) : null,
    text ? null : headers.map(toBuffer),
    commandId ?? null,
  ];
}
