import { scanQuery } from '../log/run-query.js';
import { textAsBytes, textAsStrings } from '../log/text-types.js';
import { StorageError } from '../log/errors.js';
import type { LogContext } from '../log/log-context.js';
import type { ReadAs } from '../log/types.js';
import { before, encodeCursor, type Position } from './cursor.js';
import type { CheckedFilter } from './global-filter.js';
import { readAllParameters, readAllStatement } from './read-all-statement.js';
import type { GlobalRecord } from './types.js';

type Decoded<A extends ReadAs> = A extends 'bytes' ? Buffer : string;

type Row<T> = [
  key: string,
  streamId: number | null,
  seqNum: number,
  stream: string,
  timestamp: number,
  headers: [T, T][] | null,
  headersText: [T, T][] | null,
  body: T | null,
  text: string | null,
];

/** A page of the global log, as the followers and consumers use it. */
export interface GlobalPage<T extends string | Uint8Array> {
  records: GlobalRecord<T>[];
  /** Where the next page starts. */
  next: Position;
  horizon: string;
  /** The page was cut by its limit: more records may be there below the horizon. */
  full: boolean;
  /** Committed records (of some basin) wait at or above the horizon: it will move without a notification. */
  pending: boolean;
}

const statements = new WeakMap<LogContext, Map<string, { name: string; text: string }>>();

/**
 * Reads one page of a basin's global log after `after` (see {@link readAllStatement}). When the page is not
 * full, every record below the horizon has been considered, so the next page starts at the horizon.
 *
 * @throws StorageError.
 */
export async function readAllPage<A extends ReadAs>(
  context: LogContext,
  basin: string,
  after: Position,
  limit: number,
  filter: CheckedFilter,
  as?: A,
): Promise<GlobalPage<Decoded<A>>> {
  let horizon: string | undefined;
  let pending = false;
  const records: GlobalRecord<Decoded<A>>[] = [];
  let last: Position = after;
  // Each row becomes its record as it is parsed: the rows themselves are never kept (less for the GC to copy).
  const take = ([key, streamId, seqNum, stream, timestamp, headers, headersText, body, text]: Row<
    Decoded<A>
  >) => {
    if (streamId === null) {
      horizon = key;
      pending = seqNum > 0;
      return;
    }
    last = { key, streamId, seqNum };
    records.push({
      basin,
      stream,
      seqNum,
      timestamp,
      headers: headers ?? headersText ?? [],
      body: (text ?? body) as Decoded<A>,
      cursor: encodeCursor(last),
    });
  };
  await scanQuery<Row<Decoded<A>>>(
    context.pool,
    { ...statement(context, filter), values: readAllParameters(basin, after, limit, as !== 'bytes', filter) },
    take,
    { types: as === 'bytes' ? textAsBytes : textAsStrings, rowMode: 'array' },
  );
  if (horizon === undefined) throw new StorageError('the global read returned no horizon');
  const full = records.length >= limit;
  // Not full: nothing below the horizon is left after `last`, so the next read may start at the horizon.
  const next = full || BigInt(horizon) <= BigInt(last.key) ? last : before(horizon);
  return { records, next, horizon, full, pending };
}

function statement(context: LogContext, filter: CheckedFilter): { name: string; text: string } {
  let cache = statements.get(context);
  if (!cache) statements.set(context, (cache = new Map()));
  const shape = `${filter.streamPrefix === null ? '' : 'p'}${filter.headerName === null ? '' : 'h'}`;
  let found = cache.get(shape);
  if (!found) cache.set(shape, (found = readAllStatement(context.schema, filter)));
  return found;
}
