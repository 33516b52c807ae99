import { StorageError } from '../log/errors.js';
import { assertOpen, type LogContext } from '../log/log-context.js';
import { checkAs } from '../log/read-options.js';
import type { ReadAs } from '../log/types.js';
import { waitFor } from '../log/wait.js';
import { watchBasin } from './basin-watch.js';
import { parseCursor, START, type Position } from './cursor.js';
import { checkFilter, type CheckedFilter } from './global-filter.js';
import { describeStall, stallReport } from './horizon.js';
import { readAllPage, type GlobalPage } from './read-all-page.js';
import type { FollowAllOptions, GlobalRecord, StallReport } from './types.js';

/** Records fetched per round trip while following. */
export const FOLLOW_PAGE_RECORDS = 2000;
const MAX_BACKOFF_MS = 2000;
const DEFAULT_STALL_AFTER_MS = 10_000;
const HELD_POLL_FIRST_MS = 10;
const HELD_POLL_LAST_MS = 320;

/** What a page loop needs to know to wait at the horizon and report a stall. */
export interface TailWait {
  basin: string;
  signal: AbortSignal | undefined;
  stallAfterMs: number;
  onStalled: (report: StallReport) => void;
}

/**
 * Follows a basin's global log (see `EventLog.followAll`): pages of records below the horizon, then, at the
 * horizon, waits for a wake-up (an append here, a NOTIFY from another process while the basin is marked
 * watched, or the poll interval) and reads again. A lost connection is retried with backoff from the last
 * position delivered, so nothing is skipped or repeated. Ends when `signal` aborts or the log closes.
 *
 * @throws InvalidArgumentError (before anything is read) for a bad cursor or filter.
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
  return follow(context, basin, after, filter, options);
}

async function* follow<A extends ReadAs>(
  context: LogContext,
  basin: string,
  start: Position,
  filter: CheckedFilter,
  options: FollowAllOptions<A>,
): AsyncGenerator<GlobalRecord<A extends 'bytes' ? Uint8Array : string>, void, undefined> {
  let after = start;
  const tail = new TailWaiter(context, tailWait(basin, options));
  while (!options.signal?.aborted && !context.state.closed) {
    const page = await tail.read(() =>
      readAllPage(context, basin, after, FOLLOW_PAGE_RECORDS, filter, options.as),
    );
    if (page === undefined) continue;
    after = page.next;
    for (const record of page.records) {
      yield record;
      if (options.signal?.aborted) return;
    }
    await tail.settle(page);
  }
  tail.cancel();
}

/** The waiting part of a follow's options, with defaults. */
export function tailWait(
  basin: string,
  options: { signal?: AbortSignal; stallAfterMs?: number; onStalled?: (report: StallReport) => void },
): TailWait {
  return {
    basin,
    signal: options.signal,
    stallAfterMs: options.stallAfterMs ?? DEFAULT_STALL_AFTER_MS,
    onStalled: options.onStalled ?? ((report) => console.warn(describeStall(report))),
  };
}

/**
 * The waiting at the horizon shared by followers and consumers: subscribe to wake-ups before each read once at
 * the horizon (so no append falls between a read and the wait), retry failed reads with backoff, and report a
 * horizon that stays put while records wait above it. Internal.
 */
export class TailWaiter {
  readonly #context: LogContext;
  readonly #wait: TailWait;
  #subscription: { woken: Promise<void>; cancel(): void } | undefined;
  #atTail = false;
  #failures = 0;
  #horizon = '';
  #horizonSince = 0;
  #reportedAt = 0;
  /** The last wait ended by a wake-up (not by the poll interval). */
  #woken = false;
  /** While a wake-up found nothing below the horizon: the short poll (ms) until it moves; 0 otherwise. */
  #heldPollMs = 0;

  constructor(context: LogContext, wait: TailWait) {
    this.#context = context;
    this.#wait = wait;
  }

  /** Runs one read; undefined when it failed on a lost connection (after the backoff). */
  async read<P>(fetch: () => Promise<P>): Promise<P | undefined> {
    if (this.#atTail) this.#subscription = this.#context.watcher.subscribeAny();
    try {
      const page = await fetch();
      this.#failures = 0;
      return page;
    } catch (error) {
      this.cancel();
      if (this.#wait.signal?.aborted || this.#context.state.closed) return undefined; // the loop ends
      if (!(error instanceof StorageError)) throw error;
      this.#failures++;
      await waitFor(never, Math.min(MAX_BACKOFF_MS, 25 * 2 ** this.#failures), this.#wait.signal);
      return undefined;
    }
  }

  /** After a page was handled: go on at once if there may be more, else wait for a wake-up. */
  async settle(page: GlobalPage<string | Uint8Array>): Promise<void> {
    const subscription = this.#subscription;
    this.#subscription = undefined;
    if (page.horizon !== this.#horizon) {
      this.#horizon = page.horizon;
      this.#horizonSince = Date.now();
      this.#heldPollMs = 0;
    }
    if (page.full || page.records.length > 0) {
      subscription?.cancel();
      this.#woken = false;
      this.#heldPollMs = 0;
      return;
    }
    if (!this.#atTail) {
      // First time at the horizon: set up wake-ups, then read once more before waiting.
      await watchBasin(this.#context, this.#wait.basin);
      this.#atTail = true;
      return;
    }
    await watchBasin(this.#context, this.#wait.basin); // renews the mark when it is due
    await this.#checkStall();
    const woken = subscription?.woken ?? never;
    let wokenUp = false;
    void woken.then(() => (wokenUp = true));
    await waitFor(woken, this.#nextWaitMs(), this.#wait.signal);
    subscription?.cancel();
    this.#woken = wokenUp;
  }

  /**
   * How long to wait for a wake-up. A wake-up that found nothing new means a commit above the horizon: some
   * older transaction holds it, and ends without notifying when it rolls back or wrote no records. So the
   * follower then polls quickly (10 ms, doubling) for about half a second, and then at the poll interval.
   */
  #nextWaitMs(): number {
    const poll = this.#context.pollIntervalMs;
    if (this.#woken) this.#heldPollMs = HELD_POLL_FIRST_MS;
    else if (this.#heldPollMs > 0) this.#heldPollMs *= 2;
    if (this.#heldPollMs > HELD_POLL_LAST_MS) this.#heldPollMs = 0;
    return this.#heldPollMs > 0 ? Math.min(this.#heldPollMs, poll) : poll;
  }

  cancel(): void {
    this.#subscription?.cancel();
    this.#subscription = undefined;
  }

  async #checkStall(): Promise<void> {
    const now = Date.now();
    const { stallAfterMs } = this.#wait;
    if (now - this.#horizonSince < stallAfterMs || now - this.#reportedAt < stallAfterMs) return;
    this.#reportedAt = now;
    try {
      const report = await stallReport(this.#context, this.#wait.basin);
      if (report.waitingRecords > 0 && report.horizon === this.#horizon) this.#wait.onStalled(report);
    } catch {
      // a failed report changes nothing: the next wait tries again
      this.#reportedAt = 0;
    }
  }
}

const never = new Promise<void>(() => {});
