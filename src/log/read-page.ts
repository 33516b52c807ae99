import { textAsBytes, textAsStrings } from './text-types.js';
import { BasinNotFoundError, StorageError, StreamNotFoundError } from './errors.js';
import type { LogContext } from './log-context.js';
import type { Start } from './read-options.js';
import { runQuery, scanQuery } from './run-query.js';
import { withStorageErrors } from './with-storage-errors.js';
import { Streams } from './streams.js';
import type { ReadAs, SequencedRecord, StreamPosition } from './types.js';

type Decoded<A extends ReadAs> = A extends 'bytes' ? Buffer : string;

/**
 * A row of the read statement, as an array: the stream row (the one with a `start`) or a record, whose
 * headers come as pairs (see text-types.ts).
 */
type ReadRow<T> = [
  seqNum: number,
  timestamp: number,
  headers: [T, T][] | null,
  headersText: [T, T][] | null,
  body: T | null,
  text: string | null,
  start: number | null,
  size: number | null,
];

/** One page of a read, decoded as asked. */
export interface Page<T extends string | Uint8Array> {
  records: SequencedRecord<T>[];
  /** The metered size of each record, when asked for. */
  sizes: number[];
  tail: StreamPosition;
  /** Where the read started: the requested start, raised to the trim point. */
  start: number;
}

/**
 * Reads one page: up to `count` records from `start`, within `bytes` and before `until`, decoded as strings
 * (UTF-8, invalid bytes replaced) or bytes while the rows are parsed. (Results are in text format: node-pg
 * decodes every field as UTF-8 before a binary parser sees it, which corrupts binary data.)
 *
 * @throws StreamNotFoundError, BasinNotFoundError, StorageError.
 */
export async function readPage<A extends ReadAs>(
  context: LogContext,
  basin: string,
  stream: string,
  start: Start,
  limits: { count: number; bytes: number; until?: number | undefined; sizes?: boolean },
  as?: A,
): Promise<Page<Decoded<A>>> {
  let seqNum: number | null = null;
  let tailOffset: number | null = null;
  if ('seqNum' in start) seqNum = start.seqNum;
  else if ('tailOffset' in start) tailOffset = start.tailOffset;
  else if ('timestamp' in start) seqNum = await seekTimestamp(context, basin, stream, start.timestamp);
  let tail: StreamPosition | undefined;
  let from = 0;
  const records: SequencedRecord<Decoded<A>>[] = [];
  const sizes: number[] = [];
  let last: SequencedRecord<Decoded<A>> | undefined;
  // Each row becomes its record as it is parsed: the rows themselves are never kept (less for the GC to copy).
  const take = ([seqNum, timestamp, headers, headersText, body, text, begin, size]: ReadRow<Decoded<A>>) => {
    if (begin !== null) {
      tail = { seqNum, timestamp };
      from = begin;
      return;
    }
    if (last !== undefined && seqNum !== last.seqNum + 1) {
      throw new StorageError(`read returned seqNum ${seqNum} after ${last.seqNum}: records out of order`);
    }
    last = {
      seqNum,
      timestamp,
      headers: headers ?? headersText ?? [],
      body: (text ?? body) as Decoded<A>,
    };
    records.push(last);
    if (size !== null) sizes.push(size);
  };
  await scanQuery<ReadRow<Decoded<A>>>(
    context.pool,
    {
      ...context.statements.read,
      values: [
        basin,
        stream,
        seqNum,
        tailOffset,
        limits.count,
        limits.bytes,
        limits.until ?? null,
        as !== 'bytes',
        limits.sizes === true,
      ],
    },
    take,
    { types: as === 'bytes' ? textAsBytes : textAsStrings, rowMode: 'array' },
  );
  if (tail === undefined) {
    await createOnRead(context, basin, stream);
    return { records, sizes, tail: { seqNum: 0, timestamp: 0 }, start: 0 };
  }
  return { records, sizes, tail, start: from };
}

/** The first seqNum whose timestamp is at least `timestamp` (the tail when there is none). */
export async function seekTimestamp(
  context: LogContext,
  basin: string,
  stream: string,
  timestamp: number,
): Promise<number> {
  const rows = await runQuery<{ seq_num: number | null }>(
    context.pool,
    { ...context.statements.seekTimestamp, values: [basin, stream, timestamp] },
    'read',
  );
  // No answer when the stream is missing (the read then says so) or a probe found a record swept under it.
  return rows[0]?.seq_num ?? 0;
}

/**
 * The stream is missing: creates it when its basin creates streams on read.
 *
 * @throws BasinNotFoundError, or StreamNotFoundError when the basin does not create streams on read;
 *   StorageError.
 */
async function createOnRead(context: LogContext, basin: string, stream: string): Promise<void> {
  const found = await withStorageErrors('read', () =>
    context.db
      .selectFrom('basins')
      .select('create_stream_on_read')
      .where('name', '=', basin)
      .executeTakeFirst(),
  );
  if (!found) throw new BasinNotFoundError(basin);
  if (!found.create_stream_on_read) throw new StreamNotFoundError(basin, stream);
  await new Streams(context, basin).createRow(stream);
}
