import type pg from 'pg';
import { appendGroupParameters, type GroupedAppend } from './append-group-statement.js';
import type { EncodedBatch } from './encode-batch.js';
import { IndefiniteAppendError } from './errors.js';
import { MAX_BATCH_BYTES } from './limits.js';
import type { Statement, Written } from './log-context.js';
import { runQuery } from './run-query.js';

/** What the single-record statement returns for an append written. */
export interface AppendedRow extends Written {
  seq_num: number;
  timestamp: number;
}

/** How concurrent single-record appends share statements (see {@link AppendGroups}). */
export interface GroupingSettings {
  /** Statements of grouped appends running at once; appends arriving while that many run wait to be grouped. */
  concurrency: number;
  /** At most this many appends in one statement. */
  maxAppends: number;
  /**
   * How long an append waits for a running statement to end before it is sent all the same, in ms: a
   * statement waiting for a stream's lock holds its place, and the appends to other streams must not wait
   * for that lock too.
   */
  stallMs: number;
}

export const DEFAULT_GROUPING: GroupingSettings = { concurrency: 2, maxAppends: 100, stallMs: 10 };

/** An append waiting for its statement: how to run it alone, and its caller's promise. */
interface Pending {
  append: GroupedAppend;
  alone: () => Promise<AppendedRow | undefined>;
  resolve: (row: AppendedRow | undefined) => void;
  reject: (error: unknown) => void;
}

/** Whether a batch can go in a group: one record, not a command record (a fence or trim goes alone). */
export function groupable(batch: EncodedBatch): boolean {
  return batch.count === 1 && batch.newToken === null && batch.trimTargets.length === 0;
}

/**
 * Group commit for single-record appends to existing streams: the appends a process makes concurrently share
 * statements, so that many of them cost the server one transaction and the client one round trip.
 *
 * While fewer than `concurrency` of its statements run, an append is sent at once, alone, by its caller's own
 * single-record statement: nothing changes for a process that appends one record at a time. Appends arriving
 * while that many run are queued; when one of the statements ends, every queued append to a stream not
 * already in the group (up to `maxAppends`, and a batch's 1 MiB in all) is sent in one statement
 * (append-group-statement.ts). Each append of a group succeeds or fails on its own stream's conditions. What
 * a group costs its appends:
 *
 * - they commit together, so when the connection is lost around COMMIT every one of them is indefinite
 *   (`IndefiniteAppendError`), and all or none of them were written;
 * - a group whose statement fails (definitely: nothing was written) runs each of its appends alone, so each
 *   caller gets its own append's outcome and no append fails for another's error;
 * - an append whose stream is locked by another transaction is skipped by the group and runs alone (its
 *   caller goes on as after a stale snapshot), so a group never waits for a lock.
 *
 * The caller's `alone` statement may wait for a lock, holding one of the `concurrency` places; appends that
 * have waited `stallMs` for a place are sent as a group all the same.
 */
export class AppendGroups {
  readonly #pool: pg.Pool;
  readonly #statement: Statement;
  readonly #settings: GroupingSettings;
  #running = 0;
  #queue: Pending[] = [];
  #stall: NodeJS.Timeout | undefined;

  constructor(pool: pg.Pool, statement: Statement, settings: GroupingSettings) {
    this.#pool = pool;
    this.#statement = statement;
    this.#settings = settings;
  }

  /**
   * Runs a single-record append, alone or in a group. Resolves to its row, or to undefined when nothing was
   * written for it (its stream is missing, locked by another transaction, or fails a condition); rejects as
   * `alone` would (an IndefiniteAppendError when its group's outcome is unknown).
   */
  run(
    append: GroupedAppend,
    alone: () => Promise<AppendedRow | undefined>,
  ): Promise<AppendedRow | undefined> {
    if (this.#running < this.#settings.concurrency && this.#queue.length === 0) return this.#alone(alone);
    return new Promise((resolve, reject) => {
      this.#queue.push({ append, alone, resolve, reject });
      this.#rearm(false);
    });
  }

  async #alone(alone: () => Promise<AppendedRow | undefined>): Promise<AppendedRow | undefined> {
    this.#running++;
    try {
      return await alone();
    } finally {
      this.#running--;
      this.#next();
    }
  }

  /** Sends what is queued while there are places. */
  #next(): void {
    let sent = false;
    while (this.#queue.length > 0 && this.#running < this.#settings.concurrency) {
      this.#send();
      sent = true;
    }
    this.#rearm(sent);
  }

  /** No place came free in time: one group goes all the same. */
  #stalled(): void {
    this.#stall = undefined;
    if (this.#queue.length > 0) this.#send();
    this.#rearm(false);
  }

  /**
   * The stall timer runs while appends wait, from the last time a group went out (`restart`): it fires only
   * when no place came free for `stallMs`, not merely because the queue never emptied under load.
   */
  #rearm(restart: boolean): void {
    if (restart || this.#queue.length === 0) {
      clearTimeout(this.#stall);
      this.#stall = undefined;
    }
    if (this.#queue.length > 0) this.#stall ??= setTimeout(() => this.#stalled(), this.#settings.stallMs);
  }

  /** Takes the next group off the queue (the oldest append first, one per stream) and sends it. */
  #send(): void {
    const group = this.#take();
    if (group.length === 1) {
      const [only] = group;
      this.#alone(only!.alone).then(only!.resolve, only!.reject);
      return;
    }
    void this.#group(group);
  }

  #take(): Pending[] {
    const { maxAppends } = this.#settings;
    const group: Pending[] = [];
    const left: Pending[] = [];
    const streams = new Set<string>();
    let bytes = 0;
    for (const pending of this.#queue) {
      const { basin, stream, batch } = pending.append;
      const key = `${basin}\u0000${stream}`;
      const fits = group.length === 0 || bytes + batch.meteredBytes <= MAX_BATCH_BYTES;
      if (group.length < maxAppends && fits && !streams.has(key)) {
        group.push(pending);
        streams.add(key);
        bytes += batch.meteredBytes;
      } else left.push(pending);
    }
    this.#queue = left;
    return group;
  }

  async #group(group: Pending[]): Promise<void> {
    this.#running++;
    try {
      const values = appendGroupParameters(group.map((p) => p.append));
      const rows = await runQuery<AppendedRow & { ord: number }>(
        this.#pool,
        { ...this.#statement, values },
        'write',
      );
      const byOrd = new Map(rows.map((row) => [row.ord, row]));
      group.forEach((pending, k) => pending.resolve(byOrd.get(k + 1)));
    } catch (error) {
      if (error instanceof IndefiniteAppendError) {
        for (const pending of group) pending.reject(new IndefiniteAppendError({ cause: error.cause }));
      } else {
        // Nothing was written: each append runs alone and meets its own outcome. They do not take places,
        // as the group they make up had one.
        for (const pending of group) pending.alone().then(pending.resolve, pending.reject);
      }
    } finally {
      this.#running--;
      this.#next();
    }
  }
}
