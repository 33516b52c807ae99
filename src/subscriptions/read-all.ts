import { InvalidArgumentError } from '../log/errors.js';
import { assertOpen, type LogContext } from '../log/log-context.js';
import { checkAs } from '../log/read-options.js';
import type { ReadAs } from '../log/types.js';
import { encodeCursor, parseCursor, START } from './cursor.js';
import { checkFilter } from './global-filter.js';
import { readAllPage } from './read-all-page.js';
import type { ReadAllBatch, ReadAllOptions } from './types.js';

/** The most records one `readAll` returns. */
export const MAX_READ_ALL_RECORDS = 10_000;
const DEFAULT_READ_ALL_RECORDS = 1000;

/**
 * One page of a basin's global log (see `EventLog.readAll`). Options are checked before anything is read.
 *
 * @throws InvalidArgumentError for a bad cursor, count or filter; StorageError.
 */
export async function readAll<A extends ReadAs = 'string'>(
  context: LogContext,
  basin: string,
  options: ReadAllOptions<A>,
): Promise<ReadAllBatch<A extends 'bytes' ? Uint8Array : string>> {
  const after = options.after === undefined ? START : parseCursor(options.after, 'after');
  const count = checkCount(options.count);
  const filter = checkFilter(options.filter);
  checkAs(options.as);
  assertOpen(context);
  const page = await readAllPage(context, basin, after, count, filter, options.as);
  return { records: page.records(), cursor: encodeCursor(page.next), horizon: page.horizon };
}

function checkCount(count: unknown): number {
  if (count === undefined) return DEFAULT_READ_ALL_RECORDS;
  if (
    typeof count !== 'number' ||
    !Number.isSafeInteger(count) ||
    count < 1 ||
    count > MAX_READ_ALL_RECORDS
  ) {
    throw new InvalidArgumentError(
      `count must be an integer from 1 to ${MAX_READ_ALL_RECORDS}; got ${String(count)}`,
    );
  }
  return count;
}
