import { RangeNotSatisfiableError, StorageError } from './errors.js';
import type { LogContext } from './log-context.js';
import { checkAs, checkStart, nonNegativeInteger, type Start } from './read-options.js';
import { readPage, type Page } from './read-page.js';
import type { ReadAs, ReadLimits, ReadStart, SequencedRecord } from './types.js';
import { RecordIterator, type Slice } from './record-iterator.js';
import { waitFor } from './wait.js';

/** Records and metered bytes fetched per round trip by sessions; bounds a session's memory. */
const PAGE_RECORDS = 2000;
const PAGE_BYTES = 4 * 1024 * 1024;
const MAX_BACKOFF_MS = 2000;

export interface ReadSessionOptions<A extends ReadAs = 'string'> extends ReadStart, ReadLimits {
  /** Move a start beyond the tail to the tail instead of failing. */
  clamp?: boolean;
  as?: A;
  signal?: AbortSignal;
}

/**
 * Reads a stream from a start in pages, one record at a time, until a limit (`count`, `bytes`, `until`) or the
 * tail as the last page read saw it (a start beyond the tail is a RangeNotSatisfiableError unless `clamp`; the
 * first record is returned even when it alone exceeds `bytes`); with `follow`, waits at the tail for new
 * records until the signal aborts or the log closes. A follow retries a lost connection or a passing refusal
 * (a `transient` StorageError) with backoff from the next unread seqNum, so nothing is skipped or repeated;
 * any other error ends it, thrown.
 *
 * {@link readPages} is a generator with one step per page; {@link RecordIterator} hands out the records.
 *
 * @throws (while iterating) as `Stream.read`; ClosedError when the log closes during a read that does not
 *   follow.
 */
export function readSession<A extends ReadAs = 'string'>(
  context: LogContext,
  basin: string,
  stream: string,
  options: ReadSessionOptions<A>,
  follow: boolean,
): AsyncIterableIterator<SequencedRecord<A extends 'bytes' ? Uint8Array : string>> {
  const pages = readPages(context, basin, stream, options, follow);
  return new RecordIterator(pages, options.signal) as AsyncIterableIterator<
    SequencedRecord<A extends 'bytes' ? Uint8Array : string>
  >;
}

/** The pages of a session (see {@link readSession}), each with how many of its records to hand out. */
async function* readPages<A extends ReadAs>(
  context: LogContext,
  basin: string,
  stream: string,
  options: ReadSessionOptions<A>,
  follow: boolean,
): AsyncGenerator<Slice<SequencedRecord<A extends 'bytes' ? Buffer : string>>, void, undefined> {
  let start: Start = checkStart(options);
  let count = options.count === undefined ? Infinity : nonNegativeInteger(options.count, 'count');
  let bytes = options.bytes === undefined ? Infinity : nonNegativeInteger(options.bytes, 'bytes');
  const until = options.until === undefined ? undefined : nonNegativeInteger(options.until, 'until');
  checkAs(options.as);
  const { signal } = options;
  let failures = 0;
  const fetch = async (
    from: Start,
    most: { count: number; bytes: number },
  ): Promise<Page<A extends 'bytes' ? Buffer : string> | undefined> => {
    try {
      const page = await readPage(
        context,
        basin,
        stream,
        from,
        {
          count: Math.min(most.count, PAGE_RECORDS),
          bytes: Math.min(most.bytes, PAGE_BYTES),
          until,
          sizes: most.bytes !== Infinity,
        },
        options.as,
      );
      failures = 0;
      return page;
    } catch (error) {
      if (follow && context.state.closed) return undefined; // the follow ends
      if (!follow || !(error instanceof StorageError) || !error.transient || signal?.aborted) throw error;
      failures++;
      const closing = context.state.onClose();
      await waitFor(Math.min(MAX_BACKOFF_MS, 25 * 2 ** failures), signal, closing.woken);
      closing.cancel();
      return undefined;
    }
  };
  // The next page, asked for while the caller still consumes this one (see readAhead).
  let ahead: ReturnType<typeof fetch> | undefined;
  let first = true;
  let yielded = 0;
  while (count > 0 && bytes > 0 && !signal?.aborted && !(follow && context.state.closed)) {
    let page = ahead ? await ahead : await fetch(start, { count, bytes });
    ahead = undefined;
    if (page === undefined) continue;
    if (first) {
      first = false;
      if ('seqNum' in start && start.seqNum > page.tail.seqNum) {
        if (!options.clamp) throw new RangeNotSatisfiableError(page.tail, `seqNum ${start.seqNum}`);
        start = { seqNum: page.tail.seqNum };
        continue;
      }
    }
    if (page.count === 0) {
      start = { seqNum: page.start };
      const cutByUntil = page.start < page.tail.seqNum;
      if (!follow || cutByUntil) return;
      // At the tail: subscribe to wake-ups first, then look once more, so no append falls in between.
      await context.watcher.prepare(basin, stream);
      const subscription = context.watcher.subscribe(basin, stream);
      try {
        page = await fetch(start, { count, bytes });
        if (page === undefined) continue;
        if (page.count === 0) {
          await waitFor(context.pollIntervalMs, signal, subscription.woken);
          continue;
        }
      } finally {
        subscription.cancel();
      }
    }
    const next = readAhead(page, { count, bytes });
    if (next) {
      ahead = fetch(next.start, next);
      ahead.catch(() => undefined); // awaited (and so thrown) only if the caller reads on
    }
    let handed = 0;
    for (; handed < page.count; handed++) {
      const size = page.size(handed); // sizes come only when a bytes limit needs them
      if (size > bytes && yielded > 0) break; // the first record is returned whatever its size
      yielded++;
      count--;
      bytes -= size;
    }
    if (handed > 0) yield { page, count: handed };
    if (handed < page.count || signal?.aborted) return;
    const end = page.end!; // the page holds records
    start = { seqNum: end };
    // A read ends at the tail this page saw. One more look cost a round trip for nothing (for records
    // appended after this page was read, at best): 0.4–0.7 ms against 10 ms for a 10,000-record read here.
    if (!follow && end >= page.tail.seqNum) return;
  }
}

/**
 * Where the next page starts and what it may hold, when this page ended before the tail because it was full:
 * then the next page is certain to hold records, and asking for it now lets the server find them while the
 * caller consumes this one (on two cores, the reads' server and client work overlap instead of alternating).
 * Undefined at the tail (a follower waits there, and a read ends there) and when the session's limits end
 * with this page.
 */
function readAhead(
  page: Page<string | Uint8Array>,
  left: { count: number; bytes: number },
): { start: Start; count: number; bytes: number } | undefined {
  const { end } = page;
  if (end === undefined || end >= page.tail.seqNum) return undefined;
  if (page.count < Math.min(left.count, PAGE_RECORDS)) return undefined; // cut by bytes or until
  let bytes = left.bytes;
  for (let i = 0; i < page.count; i++) bytes -= page.size(i);
  const count = left.count - page.count;
  if (count <= 0 || bytes <= 0) return undefined;
  return { start: { seqNum: end }, count, bytes };
}
