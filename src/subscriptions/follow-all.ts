import { assertOpen, type LogContext } from '../log/log-context.js';
import { checkAs } from '../log/read-options.js';
import { RecordIterator, type Slice } from '../log/record-iterator.js';
import type { ReadAs } from '../log/types.js';
import { parseCursor, START, type Position } from './cursor.js';
import { checkFilter, type CheckedFilter } from './global-filter.js';
import { readAllPage } from './read-all-page.js';
import { tailWait, TailWaiter } from './tail-waiter.js';
import type { FollowAllOptions, GlobalRecord } from './types.js';

/** Records fetched per round trip while following. */
export const FOLLOW_PAGE_RECORDS = 2000;

/**
 * Follows a basin's global log (see `EventLog.followAll`): pages of records below the horizon, then, at the
 * horizon, waits for a wake-up (an append here, a NOTIFY from another process while the basin is marked
 * watched, or the poll interval) and reads again. A lost connection is retried with backoff from the last
 * position delivered, so nothing is skipped or repeated. Ends when `signal` aborts or the log closes.
 *
 * @throws InvalidArgumentError (before anything is read) for a bad cursor or filter; (while iterating) what a
 *   read threw other than a lost connection (a StorageError that is not `connectionLost`, say).
 */
export function followAll<A extends ReadAs = 'string'>(
  context: LogContext,
  basin: string,
  options: FollowAllOptions<A>,
): AsyncIterable<GlobalRecord<A extends 'bytes' ? Uint8Array : string>> {
  const after = options.after === undefined ? START : parseCursor(options.after, 'after');
  const filter = checkFilter(options.filter);
  checkAs(options.as);
  assertOpen(context);
  return new RecordIterator(follow(context, basin, after, filter, options), options.signal) as AsyncIterable<
    GlobalRecord<A extends 'bytes' ? Uint8Array : string>
  >;
}

async function* follow<A extends ReadAs>(
  context: LogContext,
  basin: string,
  start: Position,
  filter: CheckedFilter,
  options: FollowAllOptions<A>,
): AsyncGenerator<Slice<GlobalRecord<A extends 'bytes' ? Buffer : string>>, void, undefined> {
  let after = start;
  const tail = new TailWaiter(context, tailWait(basin, options));
  try {
    while (!options.signal?.aborted && !context.state.closed) {
      const page = await tail.read(() =>
        readAllPage(context, basin, after, FOLLOW_PAGE_RECORDS, filter, options.as),
      );
      if (page === undefined) continue;
      after = page.next;
      if (page.count > 0) yield { page, count: page.count };
      if (options.signal?.aborted) return;
      await tail.settle(page);
    }
  } finally {
    tail.cancel();
  }
}
