import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { qualified } from '../db/schema-name.js';
import { afterTurn } from './after-turn.js';
import { statementName } from './statement-name.js';

/** How long a looked-up answer stands (ms). */
const FRESH_MS = 50;
/** How much longer the last answer stands while the next lookup is on its way (ms). */
const GRACE_MS = 50;

/**
 * The longest an appending process goes on without notifying after a basin became watched (ms): the age of an
 * answer that still stands, plus the lookup's own time. A follower that marks a basin polls briefly for this
 * long (see src/subscriptions/tail-waiter.ts), so an append in that window reaches it without a notification.
 */
export const MARK_SEEN_WITHIN_MS = FRESH_MS + GRACE_MS + 200;

interface Answer {
  watched: boolean;
  /** When the lookup that gave it started (performance.now()). */
  at: number;
}

/**
 * The appending process's view of which basins an idle basin-wide follower somewhere has marked watched (a
 * row in `basin_watchers` not yet lapsed, set by src/subscriptions/basin-watch.ts; or `basins.watched_until`,
 * where followers of versions before migration 0011 mark): appends to a watched basin are notified.
 *
 * The append statements check only the stream row's own mark: a lookup of the basin row in every append took
 * about 30 µs of the single-record statement's 200 µs of server time (measured twice, interleaved), most of
 * it setting up and tearing down its plan nodes, which every execution does. So this looks the marks up by
 * a statement of its own, at most every 50 ms while appends come, for the basins appended to whose answers
 * have grown old, and answers from the last lookup meanwhile. A basin never looked up, or whose answer is too
 * old (appends resumed after a pause), counts as watched: the append notifies, and the lookup starts when
 * the append's turn is over (see after-turn.ts). Answers age by `node:perf_hooks`' clock, which test suites'
 * fake timers leave alone (they replace the global `performance`): faked, a clock set back would keep an old
 * answer fresh until it caught up. Internal.
 */
export class BasinMarks {
  readonly #pool: pg.Pool;
  readonly #statement: { name: string; text: string };
  readonly #answers = new Map<string, Answer>();
  /** Basins appended to whose answers are old: the next lookup's. */
  readonly #wanted = new Set<string>();
  #looking: Promise<void> | undefined;

  constructor(pool: pg.Pool, schema: string) {
    this.#pool = pool;
    this.#statement = {
      name: statementName(schema, 'basin-marks'),
      text: `select b.name from ${qualified(schema, 'basins')} b
             where b.name = any($1::text[])
               and (exists (select from ${qualified(schema, 'basin_watchers')} w
                            where w.basin = b.name and w.watched_until > clock_timestamp())
                    or b.watched_until > clock_timestamp())`,
    };
  }

  /** Whether appends to `basin` should be notified now; looks the marks up again when the answer is old. */
  watched(basin: string): boolean {
    const answer = this.#answers.get(basin);
    const age = answer ? performance.now() - answer.at : Infinity;
    if (age < FRESH_MS) return answer!.watched;
    this.#wanted.add(basin);
    this.#looking ??= afterTurn(() => this.#lookUp()).finally(() => (this.#looking = undefined));
    return age < FRESH_MS + GRACE_MS ? answer!.watched : true;
  }

  /** Waits for the lookup on its way, if any. */
  async flush(): Promise<void> {
    while (this.#looking) await this.#looking;
  }

  async #lookUp(): Promise<void> {
    const basins = [...this.#wanted];
    this.#wanted.clear();
    const at = performance.now();
    try {
      const { rows } = await this.#pool.query<{ name: string }>({ ...this.#statement, values: [basins] });
      const watched = new Set(rows.map((row) => row.name));
      for (const basin of basins) this.#answers.set(basin, { watched: watched.has(basin), at });
    } catch {
      // the answers grow old, and appends notify until a lookup succeeds
    }
  }
}
