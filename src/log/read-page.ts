import { BasinNotFoundError, StorageError, StreamNotFoundError } from './errors.js';
import type { LogContext } from './log-context.js';
import { runQuery } from './run-query.js';
import type { Start } from './read-options.js';
import { Streams } from './streams.js';
import type { SequencedRecord, StreamPosition } from './types.js';

interface ReadRow {
  kind: number;
  seq_num: number;
  timestamp: number;
  headers: Buffer[] | null;
  body: Buffer | null;
  start: number | null;
}

/** Records as stored, before they are decoded for the caller. */
export interface RawPage {
  records: SequencedRecord<Buffer>[];
  tail: StreamPosition;
  /** Where the read started: the requested start, raised to the trim point. */
  start: number;
}

/**
 * Reads one page: up to `count` records from `start`, within `bytes` and before `until`.
 *
 * @throws StreamNotFoundError, BasinNotFoundError, StorageError.
 */
export async function readPage(
  context: LogContext,
  basin: string,
  stream: string,
  start: Start,
  limits: { count: number; bytes: number; until?: number | undefined },
): Promise<RawPage> {
  let seqNum: number | null = null;
  let tailOffset: number | null = null;
  if ('seqNum' in start) seqNum = start.seqNum;
  else if ('tailOffset' in start) tailOffset = start.tailOffset;
  else if ('timestamp' in start) seqNum = await seekTimestamp(context, basin, stream, start.timestamp);
  const rows = await runQuery<ReadRow>(
    context.pool,
    {
      name: context.statements.read.name,
      text: context.statements.read.text,
      values: [basin, stream, seqNum, tailOffset, limits.count, limits.bytes, limits.until ?? null],
    },
    'read',
  );
  let tail: StreamPosition | undefined;
  let from = 0;
  const records: SequencedRecord<Buffer>[] = [];
  for (const row of rows) {
    if (row.kind === 0) {
      tail = { seqNum: row.seq_num, timestamp: row.timestamp };
      from = row.start!;
      continue;
    }
    const last = records[records.length - 1];
    if (last !== undefined && row.seq_num !== last.seqNum + 1) {
      throw new StorageError(
        `read returned seqNum ${row.seq_num} after ${last.seqNum}: records out of order`,
      );
    }
    records.push({
      seqNum: row.seq_num,
      timestamp: row.timestamp,
      headers: pairs(row.headers),
      body: row.body!,
    });
  }
  if (tail === undefined) {
    if (await createOnRead(context, basin, stream))
      return { records, tail: { seqNum: 0, timestamp: 0 }, start: 0 };
    throw await missing(context, basin, stream);
  }
  return { records, tail, start: from };
}

/** The first seqNum whose timestamp is at least `timestamp` (the tail when there is none). */
async function seekTimestamp(
  context: LogContext,
  basin: string,
  stream: string,
  timestamp: number,
): Promise<number> {
  const rows = await runQuery<{ seq_num: number | null }>(
    context.pool,
    {
      name: context.statements.seekTimestamp.name,
      text: context.statements.seekTimestamp.text,
      values: [basin, stream, timestamp],
    },
    'read',
  );
  // No answer when the stream is missing (the read then says so) or a probe found a record swept under it.
  return rows[0]?.seq_num ?? 0;
}

/** Creates a missing stream when its basin creates streams on read; false when it does not. */
async function createOnRead(context: LogContext, basin: string, stream: string): Promise<boolean> {
  const found = await context.db
    .selectFrom('basins')
    .select('create_stream_on_read')
    .where('name', '=', basin)
    .executeTakeFirst();
  if (!found?.create_stream_on_read) return false;
  await new Streams(context, basin).createRow(stream);
  return true;
}

/** Why a stream row was not found: the basin or the stream is missing. */
export async function missing(context: LogContext, basin: string, stream: string): Promise<Error> {
  const found = await context.db
    .selectFrom('basins')
    .select('name')
    .where('name', '=', basin)
    .executeTakeFirst();
  return found ? new StreamNotFoundError(basin, stream) : new BasinNotFoundError(basin);
}

function pairs(headers: Buffer[] | null): [Buffer, Buffer][] {
  if (headers === null) return [];
  const result: [Buffer, Buffer][] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) result.push([headers[i]!, headers[i + 1]!]);
  return result;
}
