import { scanQuery } from '../log/run-query.js';
import { lateAsBytes, lateAsStrings, type LateHeaders } from '../log/text-types.js';
import { StorageError } from '../log/errors.js';
import { RowPage } from '../log/row-page.js';
import type { LogContext } from '../log/log-context.js';
import type { ReadAs } from '../log/types.js';
import { before, encodeCursor, type Position } from './cursor.js';
import type { CheckedFilter } from './global-filter.js';
import { readAllParameters, readAllStatement } from './read-all-statement.js';
import type { GlobalRecord } from './types.js';

type Decoded<A extends ReadAs> = A extends 'bytes' ? Buffer : string;

/** A row of the statement: the horizon's (no `streamId`) or a record's, with its header arrays as printed. */
type Row<T> = [
  key: string,
  streamId: number | null,
  seqNum: number,
  stream: string,
  timestamp: number,
  headers: string | null,
  headersText: string | null,
  body: T | null,
  text: string | null,
];

/** A page of the global log, as readers, followers and consumers use it (see {@link RowPage}). */
export class GlobalPage<T extends string | Uint8Array> extends RowPage<Row<T>, GlobalRecord<T>, T> {
  readonly #basin: string;
  /** Where the next page starts. */
  readonly next: Position;
  readonly horizon: string;
  /** The page was cut by its limit: more records may be there below the horizon. */
  readonly full: boolean;
  /** Committed records (of some basin) wait at or above the horizon: it will move without a notification. */
  readonly pending: boolean;

  /** @internal */
  constructor(
    basin: string,
    rows: Row<T>[],
    decoding: LateHeaders<T>,
    bounds: { next: Position; horizon: string; full: boolean; pending: boolean },
  ) {
    super(rows, decoding);
    this.#basin = basin;
    this.next = bounds.next;
    this.horizon = bounds.horizon;
    this.full = bounds.full;
    this.pending = bounds.pending;
  }

  record(index: number): GlobalRecord<T> {
    const [key, streamId, seqNum, stream, timestamp, headers, headersText, body, text] = this.rows[index]!;
    return {
      basin: this.#basin,
      stream,
      seqNum,
      timestamp,
      headers: this.decoding.headers(headers, headersText),
      body: (text ?? body) as T,
      cursor: encodeCursor({ key, streamId: streamId!, seqNum }),
    };
  }
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
  const decoding = (as === 'bytes' ? lateAsBytes : lateAsStrings) as LateHeaders<Decoded<A>>;
  let horizon: string | undefined;
  let pending = false;
  const rows: Row<Decoded<A>>[] = [];
  let last: Position = after;
  const take = (row: Row<Decoded<A>>) => {
    const [key, streamId, seqNum] = row;
    if (streamId === null) {
      horizon = key;
      pending = seqNum > 0;
      return;
    }
    last = { key, streamId, seqNum };
    rows.push(row);
  };
  await scanQuery<Row<Decoded<A>>>(
    context.pool,
    { ...statement(context, filter), values: readAllParameters(basin, after, limit, as !== 'bytes', filter) },
    take,
    { types: decoding.types, rowMode: 'array' },
  );
  if (horizon === undefined) throw new StorageError('the global read returned no horizon');
  const full = rows.length >= limit;
  // Not full: nothing below the horizon is left after `last`, so the next read may start at the horizon.
  const next = full || BigInt(horizon) <= BigInt(last.key) ? last : before(horizon);
  return new GlobalPage(basin, rows, decoding, { next, horizon, full, pending });
}

function statement(context: LogContext, filter: CheckedFilter): { name: string; text: string } {
  let cache = statements.get(context);
  if (!cache) statements.set(context, (cache = new Map()));
  const shape = `${filter.streamPrefix === null ? '' : 'p'}${filter.headerName === null ? '' : 'h'}`;
  let found = cache.get(shape);
  if (!found) cache.set(shape, (found = readAllStatement(context.schema, filter)));
  return found;
}
