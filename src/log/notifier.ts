import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { afterTurn } from './after-turn.js';
import { BasinMarks } from './basin-marks.js';
import { statementName } from './statement-name.js';
import { notifyChannel } from './statement-parts.js';

/** Stream ids per notification: a payload stays far below Postgres's 8,000-byte limit. */
const IDS_PER_PAYLOAD = 400;
/**
 * While appends keep coming, one notification statement at most this often (ms): as often as a busy follower
 * looks for records (see src/subscriptions/tail-waiter.ts), so under sustained appends no follower waits
 * longer, woken or polling. Every notification wakes every listening process: at one every 5 ms, 16-in-flight
 * appends with a basin follower in another process ran at 0.80–0.84 of their speed without one, at one every
 * 20 ms at 0.85–0.94 (bench/FINDINGS.md).
 */
const MIN_GAP_MS = 20;

/**
 * Sends the notifications of committed appends to watched streams and basins, outside the appends'
 * transactions. The append statement says whether the stream row is marked watched; basin marks come from
 * {@link BasinMarks}.
 *
 * A NOTIFY inside a transaction takes a database-wide lock at commit and holds it through the commit's WAL
 * flush, so every notifying transaction commits one after another (measured: 16-in-flight appends at two
 * thirds of their speed, and the slowest 1% of appends at 1,000/s waiting 18–47 ms instead of 5). So the
 * append statement only says whether a follower watches the stream, and this process notifies after the
 * commit, by a statement of its own: when the append's turn is over (see after-turn.ts), and at most one
 * every 20 ms, each carrying every stream id that arrived since the one before (`id,id,…`). Each costs a
 * round trip and server time, and wakes every listening process: one per append cost 16-in-flight appends
 * about 10% of their speed (measured). Its clock and timer are `node:perf_hooks`' and `node:timers`', which
 * test suites' fake timers leave alone (see after-turn.ts): `close()` waits for the sender.
 *
 * A notification is only a wake-up: followers read by cursor and also poll, so one lost to a crash between
 * the commit and the notification (or to a failed send) delays followers in other processes by at most
 * their poll interval and loses nothing. Internal.
 */
export class Notifier {
  readonly #pool: pg.Pool;
  readonly #statement: { name: string; text: string };
  readonly #pending = new Set<number>();
  readonly #marks: BasinMarks;
  #sending: Promise<void> | undefined;
  /** When the last notification statement went (the first goes at once). */
  #sentAt = -Infinity;

  constructor(pool: pg.Pool, schema: string) {
    this.#pool = pool;
    this.#marks = new BasinMarks(pool, schema);
    this.#statement = {
      name: statementName(schema, 'notify'),
      text: `select pg_notify('${notifyChannel(schema)}', p) from unnest($1::text[]) as p`,
    };
  }

  /**
   * Called after an append committed: followers elsewhere learn of it soon when they watch the stream
   * (`streamWatched`, from the append statement) or its basin.
   */
  appended(basin: string, streamId: number, streamWatched: boolean): void {
    if (!streamWatched && !this.#marks.watched(basin)) return;
    this.#pending.add(streamId);
    this.#sending ??= afterTurn(() => this.#send()).finally(() => (this.#sending = undefined));
  }

  /** Waits until the notifications asked for so far were sent (or failed), and the marks' lookup ended. */
  async flush(): Promise<void> {
    while (this.#sending) await this.#sending;
    await this.#marks.flush();
  }

  async #send(): Promise<void> {
    while (this.#pending.size > 0) {
      // Counted from the last statement, also one of a run that ended: a lull of a few milliseconds between
      // appends does not let the next statement go sooner.
      const gap = this.#sentAt + MIN_GAP_MS - performance.now();
      if (gap > 0) await sleep(gap);
      this.#sentAt = performance.now();
      const ids = [...this.#pending];
      this.#pending.clear();
      const payloads: string[] = [];
      for (let i = 0; i < ids.length; i += IDS_PER_PAYLOAD) {
        payloads.push(ids.slice(i, i + IDS_PER_PAYLOAD).join(','));
      }
      try {
        await this.#pool.query({ ...this.#statement, values: [payloads] });
      } catch {
        // a wake-up lost: followers elsewhere find the records at their next poll
      }
    }
  }
}
