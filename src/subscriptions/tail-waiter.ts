import { MARK_SEEN_WITHIN_MS } from '../log/basin-marks.js';
import { StorageError } from '../log/errors.js';
import type { LogContext } from '../log/log-context.js';
import { waitFor } from '../log/wait.js';
import { holdBasinMark } from './basin-watch.js';
import { describeStall, stallReport } from './horizon.js';
import type { GlobalPage } from './read-all-page.js';
import type { StallReport } from './types.js';

const MAX_BACKOFF_MS = 2000;
const DEFAULT_STALL_AFTER_MS = 10_000;
const HELD_POLL_FIRST_MS = 10;
const HELD_POLL_MAX_MS = 250;
/**
 * While records keep coming, a follower at the horizon looks again this often, without notifications: every
 * 10 ms from the start of its last look, so the time it spent handling what it found counts toward the wait.
 */
const ACTIVE_POLL_MS = 10;
/**
 * A busy stream of records: at least this many a millisecond, as the follower's smoothed rate of records
 * found at the horizon (see {@link smoothedRate}). The follower then looks every BUSY_POLL_MS, and wake-ups
 * do not cut the wait short. Following from another process costs that process about what a plain keyset
 * reader of the same rows costs, and on a machine the appends keep busy that cost is the appends' loss: each
 * look wakes a process and its backend and makes a round trip, whatever it finds. So under load the follower
 * looks less often, and a consumer's batches (a transaction each) grow alike. Following 16-in-flight appends
 * (about 6,000 a second) from another process on two cores, per 10,000 appends: looking every 20 ms, 320 ms
 * of the follower process's CPU, and the appends ran at 0.86 of their speed without a follower; every 40 ms,
 * 260 ms and 0.93 (medians of 9 interleaved rounds, bench/FINDINGS.md). Records then wait up to 40 ms
 * instead of 10; a follower that has not reached 4 a millisecond keeps looking every 10 ms.
 *
 * A busy follower stays busy until its rate falls below QUIET_RECORDS_PER_MS. With one threshold, a rate
 * hovering about it (appends at 4,500 a second, slowed by a loaded machine or by the follower's own cost)
 * flipped the follower back to 10 ms at every dip: about 100 looks per 10,000 appends instead of 40, which
 * slowed the appends further (bench/FINDINGS.md, stop 20).
 */
const BUSY_RECORDS_PER_MS = 4;
const QUIET_RECORDS_PER_MS = 3;
const BUSY_POLL_MS = 40;
/**
 * The time constant (ms) of a follower's rate of records. A look that finds a burst (records that waited
 * behind an open transaction, or an appender catching up) weighs as much as the time it covers: one look of
 * 10 ms moves the rate a tenth of the way, so a burst alone does not make the follower wait 40 ms between
 * looks, while a steady 4,000 a second does within about 100 ms.
 */
const RATE_WINDOW_MS = 100;
/** After this long without records, a follower marks its basin watched and waits for notifications. */
const IDLE_AFTER_MS = 1000;

/** What a page loop needs to know to wait at the horizon and report a stall. */
export interface TailWait {
  basin: string;
  signal: AbortSignal | undefined;
  stallAfterMs: number;
  onStalled: (report: StallReport) => void;
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
 * A follower's rate of records (a millisecond) after a look at the horizon that found `found` over `overMs`:
 * the look's own rate, weighted by the time it covers against RATE_WINDOW_MS (an exponential moving average
 * over time). Internal.
 */
export function smoothedRate(rate: number, found: number, overMs: number): number {
  const over = Math.max(overMs, 1);
  return rate + (1 - Math.exp(-over / RATE_WINDOW_MS)) * (found / over - rate);
}

/** How an active follower waits between looks: see {@link activePoll}. */
export interface ActivePoll {
  /** The wait, from the start of the last look. */
  ms: number;
  /** Whether a wake-up (an append here, a notification) ends the wait early. */
  wakeable: boolean;
  /** Looking every BUSY_POLL_MS: the follower stays so until its rate falls below QUIET_RECORDS_PER_MS. */
  busy: boolean;
}

/**
 * How long a follower that has had records lately waits from the start of its last look, given its smoothed
 * rate of records (see {@link smoothedRate}) and whether it was busy: 40 ms without wake-ups once records come
 * at 4 a millisecond or faster, and on until they come slower than 3 a millisecond; else 10 ms, woken early.
 * Internal.
 */
export function activePoll(rate: number, wasBusy: boolean): ActivePoll {
  return rate >= (wasBusy ? QUIET_RECORDS_PER_MS : BUSY_RECORDS_PER_MS)
    ? { ms: BUSY_POLL_MS, wakeable: false, busy: true }
    : { ms: ACTIVE_POLL_MS, wakeable: true, busy: false };
}

/**
 * The waiting at the horizon shared by followers and consumers: subscribe to wake-ups before each read once at
 * the horizon (so no append falls between a read and the wait), retry reads that lost their connection with
 * backoff, and report a horizon that stays put while records wait above it. Every wait ends when the log
 * closes. Internal.
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
  /** While records wait above the horizon: the short poll (ms) until it moves; 0 otherwise. */
  #heldPollMs = 0;
  /** Releases this follower's hold on its basin's mark (held while idle). */
  #release: (() => void) | undefined;
  /** When a read last found records. */
  #recordsAt = 0;
  /** When this follower last marked its basin watched. */
  #markedAt = 0;
  /** When the last `settle` ended (or this waiter began): the start of the current look. */
  #lookedAt = performance.now();
  /** When the last `settle` began: the records of a page came over the time since. */
  #settledAt = performance.now();
  /** Records a millisecond found at the horizon, smoothed (see {@link smoothedRate}). */
  #rate = 0;
  /** Looking every BUSY_POLL_MS (see {@link activePoll}). */
  #busy = false;

  constructor(context: LogContext, wait: TailWait) {
    this.#context = context;
    this.#wait = wait;
  }

  /**
   * Runs one read; undefined when it failed on a lost connection (after the backoff, which the log's close
   * cuts short) or when the follow is over (aborted, or the log closed).
   *
   * @throws what the read threw, unless it may pass (a StorageError that is `transient`: a lost connection,
   *   a canceled statement, ...).
   */
  async read<P>(fetch: () => Promise<P>): Promise<P | undefined> {
    if (this.#atTail) this.#subscription = this.#context.watcher.subscribeAny();
    try {
      const page = await fetch();
      this.#failures = 0;
      return page;
    } catch (error) {
      this.#subscription?.cancel();
      this.#subscription = undefined;
      if (this.#wait.signal?.aborted || this.#context.state.closed) return undefined; // the loop ends
      if (!(error instanceof StorageError) || !error.transient) throw error;
      this.#failures++;
      const closing = this.#context.state.onClose();
      await waitFor(Math.min(MAX_BACKOFF_MS, 25 * 2 ** this.#failures), this.#wait.signal, closing.woken);
      closing.cancel();
      return undefined;
    }
  }

  /**
   * After a page was handled: go on at once if there may be more, else wait for a wake-up. However it ends,
   * the page's wake-ups are dropped and the next look starts (`#lookedAt`).
   */
  async settle(page: GlobalPage<string | Uint8Array>): Promise<void> {
    const subscription = this.#subscription;
    this.#subscription = undefined;
    const settling = performance.now();
    const since = settling - this.#settledAt;
    this.#settledAt = settling;
    try {
      if (page.horizon !== this.#horizon) {
        this.#horizon = page.horizon;
        this.#horizonSince = Date.now();
        this.#heldPollMs = 0;
      }
      if (page.count > 0) {
        this.#heldPollMs = 0;
        this.#recordsAt = Date.now();
        this.#release?.();
        this.#release = undefined;
      }
      if (page.full) return; // more waits below the horizon: read on at once
      if (!this.#atTail) {
        // First time at the horizon: subscribe to wake-ups from now on, and read once more before waiting.
        this.#atTail = true;
        return;
      }
      // At the horizon (a page not full ends there), with or without records: wait for a wake-up or the poll,
      // rather than read a record or two per round trip while appends come from elsewhere. Records arrived
      // lately: poll briefly and ask no one to notify (each notification costs the appending process a
      // statement). Quiet for a while: mark the basin watched, so that the next append from elsewhere
      // notifies. Appending processes learn of a new mark within MARK_SEEN_WITHIN_MS (see basin-marks.ts):
      // until then, keep polling briefly, so that an append made meanwhile without a notification is not left
      // for the poll.
      const active = Date.now() - this.#recordsAt < IDLE_AFTER_MS;
      if (!active && !this.#release) {
        this.#release = await holdBasinMark(this.#context, this.#wait.basin);
        this.#markedAt = Date.now();
      }
      const marking = Date.now() - this.#markedAt < MARK_SEEN_WITHIN_MS;
      await this.#checkStall();
      // Records committed above the horizon wait for an older transaction, which may end without a
      // notification (a rollback, or no records written): look again soon, 10 ms and doubling, at most every
      // 250 ms.
      this.#heldPollMs = page.pending
        ? Math.min(HELD_POLL_MAX_MS, this.#heldPollMs * 2 || HELD_POLL_FIRST_MS)
        : 0;
      // The short poll counts from the start of the look that ends here: a consumer's transaction or a slow
      // loop body takes its time from the wait rather than adding to it (a record that came just after the
      // read waited for the whole handling and then a whole poll). The longer waits are for held and idle
      // horizons.
      this.#rate = smoothedRate(this.#rate, page.count, since);
      const poll = activePoll(this.#rate, this.#busy);
      this.#busy = poll.busy;
      const wait =
        active || marking
          ? poll.ms - (performance.now() - this.#lookedAt)
          : this.#heldPollMs || this.#context.pollIntervalMs;
      if (wait > 0) {
        const woken = poll.wakeable ? subscription?.woken : undefined;
        await waitFor(Math.min(wait, this.#context.pollIntervalMs), this.#wait.signal, woken);
      }
    } finally {
      subscription?.cancel();
      this.#lookedAt = performance.now();
    }
  }

  /** Drops the wake-ups and the basin mark (at the end of a follow). */
  cancel(): void {
    this.#subscription?.cancel();
    this.#subscription = undefined;
    this.#release?.();
    this.#release = undefined;
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
