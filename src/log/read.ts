import { RangeNotSatisfiableError } from './errors.js';
import { assertOpen, type LogContext } from './log-context.js';
import { checkUnaryRead } from './read-options.js';
import { readPage } from './read-page.js';
import type { ReadAs, ReadBatch, ReadOptions } from './types.js';
import { waitFor } from './wait.js';

/**
 * A unary read (see {@link Stream.read}).
 *
 * @throws RangeNotSatisfiableError, StreamNotFoundError, BasinNotFoundError, InvalidArgumentError, StorageError,
 *   ClosedError (the log closed, also while the read waited).
 */
export async function readUnary<A extends ReadAs = 'string'>(
  context: LogContext,
  basin: string,
  stream: string,
  options: ReadOptions<A>,
): Promise<ReadBatch<A extends 'bytes' ? Uint8Array : string>> {
  const read = checkUnaryRead(options);
  const deadline = Date.now() + read.waitMs;
  let start = read.start;
  // Wake-ups are set up only once the read has to wait: a read that finds records marks nothing watched.
  let subscription: { woken: Promise<void>; cancel(): void } | undefined;
  try {
    for (;;) {
      const page = await readPage(context, basin, stream, start, read, options.as);
      if (page.count > 0) {
        return { records: page.records(), tail: page.tail } as ReadBatch<
          A extends 'bytes' ? Uint8Array : string
        >;
      }
      const requested = 'seqNum' in start ? start.seqNum : undefined;
      if (requested !== undefined && requested > page.tail.seqNum && !read.clamp) {
        throw new RangeNotSatisfiableError(page.tail, `seqNum ${requested}`);
      }
      // Waiting: the start is fixed where this pass found the tail (a start beyond it clamped to it), so the
      // records that arrive meanwhile are the ones returned.
      start = { seqNum: Math.min(page.start, page.tail.seqNum) };
      if (page.start < page.tail.seqNum) return { records: [], tail: page.tail }; // bounded by `until`
      if (read.waitMs === 0) throw new RangeNotSatisfiableError(page.tail, describe(read.start));
      const left = deadline - Date.now();
      if (left <= 0 || options.signal?.aborted) return { records: [], tail: page.tail };
      if (subscription) {
        // Woken by close() too: the next look then fails with ClosedError.
        await waitFor(Math.min(left, context.pollIntervalMs), options.signal, subscription.woken);
        subscription.cancel();
        assertOpen(context);
      } else {
        await context.watcher.prepare(basin, stream);
      }
      // Subscribed before the next look, so no append falls between the look and the wait.
      subscription = context.watcher.subscribe(basin, stream);
    }
  } finally {
    subscription?.cancel();
  }
}

function describe(start: object): string {
  const [key, value] = Object.entries(start)[0] ?? ['tail', true];
  return key === 'tail' ? 'at the tail' : `${key} ${String(value)}`;
}
