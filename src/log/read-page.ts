import { lateAsBytes, lateAsStrings, type LateHeaders } from './text-types.js';
import { BasinNotFoundError, StorageError, StreamNotFoundError } from './errors.js';
import type { LogContext } from './log-context.js';
import { RowPage } from './row-page.js';
import type { Start } from './read-options.js';
import { runQuery, scanQuery } from './run-query.js';
import { withStorageErrors } from './with-storage-errors.js';
import { Streams } from './streams.js';
import type { ReadAs, SequencedRecord, StreamPosition } from './types.js';

type Decoded<A extends ReadAs> = A extends 'bytes' ? Buffer : string;

/**
 * A row of the read statement, as an array: the stream row (the one with a `start`) or a record, whose
 * header arrays come as Postgres prints them (see LateHeaders).
 */
type ReadRow<T> = [
  seqNum: number,
  timestamp: number,
  headers: string | null,
  headersText: string | null,
  body: T | null,
  text: string | null,
  start: number | null,
  size: number | null,
];

/** One page of a stream's read (see {@link RowPage}). */
export class Page<T extends string | Uint8Array> extends RowPage<ReadRow<T>, SequencedRecord<T>, T> {
  /** The stream's tail when the page was read. */
  readonly tail: StreamPosition;
  /** Where the read started: the requested start, raised to the trim point. */
  readonly start: number;

  /** @internal */
  constructor(rows: ReadRow<T>[], decoding: LateHeaders<T>, tail: StreamPosition, start: number) {
    super(rows, decoding);
    this.tail = tail;
    this.start = start;
  }

  /** The seqNum after the page's last record, or undefined when the page is empty. */
  get end(): number | undefined {
    const last = this.rows[this.rows.length - 1];
    return last === undefined ? undefined : last[0] + 1;
  }

  record(index: number): SequencedRecord<T> {
    const [seqNum, timestamp, headers, headersText, body, text] = this.rows[index]!;
    return {
      seqNum,
      timestamp,
      headers: this.decoding.headers(headers, headersText),
      body: (text ?? body) as T,
    };
  }

  /** The metered size of the `index`th record, when the read asked for sizes; else 0. */
  size(index: number): number {
    return this.rows[index]![7] ?? 0;
  }
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
  const decoding = (as === 'bytes' ? lateAsBytes : lateAsStrings) as LateHeaders<Decoded<A>>;
  let tail: StreamPosition | undefined;
  let from = 0;
  const rows: ReadRow<Decoded<A>>[] = [];
  let next: number | undefined;
  const take = (row: ReadRow<Decoded<A>>) => {
    const [seqNum, timestamp, , , , , begin] = row;
    if (begin !== null) {
      tail = { seqNum, timestamp };
      from = begin;
      return;
    }
    if (next !== undefined && seqNum !== next) {
      throw new StorageError(`read returned seqNum ${seqNum} after ${next - 1}: records out of order`);
    }
    next = seqNum + 1;
    rows.push(row);
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
    { types: decoding.types, rowMode: 'array' },
  );
  if (tail === undefined) {
    await createOnRead(context, basin, stream);
    return new Page(rows, decoding, { seqNum: 0, timestamp: 0 }, 0);
  }
  return new Page(rows, decoding, tail, from);
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
