import { sql } from 'kysely';
import { qualified } from '../db/schema-name.js';
import { InvalidArgumentError, StorageError } from '../log/errors.js';
import { assertOpen, type LogContext, type Statement } from '../log/log-context.js';
import { checkBasinName } from '../log/names.js';
import { runQuery } from '../log/run-query.js';
import { statementName } from '../log/statement-name.js';
import { checkConsumerName } from './consumer-options.js';
import { idempotencyKey } from './idempotency-key.js';
import { recordsAfter } from './records-after.js';
import { before, encodeCursor, parseCursor, START, type Cursor, type Position } from './cursor.js';

/** Lag is counted up to this many records. */
const LAG_COUNT_LIMIT = 100_000;

/** A consumer as `log.consumers.list()` shows it. */
export interface ConsumerInfo {
  basin: string;
  name: string;
  /** Its checkpoint: it has handled every record up to here. */
  cursor: Cursor;
  /** Grows with every change of the checkpoint. */
  version: number;
  updatedAt: Date;
  /** Why its handler stopped it last, until the next advance or reset. */
  lastError: string | null;
  /** Records it parked. */
  parked: number;
  /**
   * Records of the basin after the checkpoint, whatever the consumer's filter (counted up to 100,000), and
   * the age of the first of them in ms (0 when none).
   */
  lag: { records: number; ms: number };
}

/** A record a consumer parked. */
export interface ParkedRecord {
  stream: string;
  seqNum: number;
  /** The record's idempotency key, as the handler saw it (see `ConsumerRecord.idempotencyKey`). */
  idempotencyKey: string;
  /** How many times the handler failed on it. */
  attempts: number;
  /** The handler's last error, `name: message`, with NUL characters as U+FFFD, cut to 4,000 characters. */
  error: string;
  parkedAt: Date;
}

/**
 * The durable consumers of a log's basins: list them with position and lag, reset or rewind one, delete one,
 * see what one parked.
 *
 * @example
 * for (const c of await log.consumers.list()) console.log(c.name, c.cursor, c.lag.records);
 * await log.consumers.reset('billing', { to: 'start' });
 */
export class Consumers {
  readonly #context: LogContext;
  readonly #defaultBasin: string;

  /** @internal */
  constructor(context: LogContext, defaultBasin: string) {
    this.#context = context;
    this.#defaultBasin = defaultBasin;
  }

  /**
   * The consumers of a basin (default: the log's), by name, with their position and lag.
   *
   * @throws InvalidArgumentError, StorageError.
   */
  async list(options: { basin?: string } = {}): Promise<ConsumerInfo[]> {
    const basin = this.#basin(options.basin);
    assertOpen(this.#context);
    const rows = await runQuery<ListRow>(
      this.#context.pool,
      { ...consumerListStatement(this.#context.schema), values: [basin] },
      'read',
    );
    return rows.map((row) => ({
      basin: row.basin,
      name: row.name,
      cursor: encodeCursor({ key: row.commit_key, streamId: row.stream_id, seqNum: row.seq_num }),
      version: row.version,
      updatedAt: row.updated_at,
      lastError: row.last_error,
      parked: row.parked,
      lag: {
        records: row.lag,
        ms: row.first_ts === null ? 0 : Math.max(0, Date.now() - row.first_ts),
      },
    }));
  }

  /**
   * Moves a consumer's checkpoint: to `'start'` (it handles everything again), to `'end'` (everything below
   * the commit horizon counts as handled), or to a cursor (it continues after it). Creates the consumer
   * there if it does not exist. A running instance finds out at its next batch (ConsumerConflictError, or it
   * continues from here with `onConflict: 'continue'`). Returns the new cursor.
   *
   * @throws InvalidArgumentError for a bad name or cursor, StorageError.
   */
  async reset(name: string, options: { to: 'start' | 'end' | Cursor; basin?: string }): Promise<Cursor> {
    checkConsumerName(name);
    const basin = this.#basin(options?.basin);
    const to = options?.to;
    if (to === undefined) throw new InvalidArgumentError(`reset needs { to: 'start' | 'end' | cursor }`);
    assertOpen(this.#context);
    const position: Position | undefined =
      to === 'start' ? START : to === 'end' ? undefined : parseCursor(to, 'reset to');
    const { schema } = this.#context;
    const { rows } = await sql<{ commit_key: string; stream_id: string; seq_num: string }>`
      insert into ${sql.id(schema, 'consumers')} as c (basin, name, commit_key, stream_id, seq_num)
      values (${basin}, ${name},
        coalesce(${position?.key ?? null}::xid8, pg_snapshot_xmin(pg_current_snapshot())),
        ${position?.streamId ?? 0}, ${position?.seqNum ?? -1})
      on conflict (basin, name) do update set commit_key = excluded.commit_key, stream_id = excluded.stream_id,
        seq_num = excluded.seq_num, version = c.version + 1, advanced_by = null, last_error = null,
        updated_at = clock_timestamp()
      returning commit_key::text, stream_id, seq_num`
      .execute(this.#context.db)
      .catch((cause: unknown) => {
        throw new StorageError(`resetting consumer ${JSON.stringify(name)} failed: ${String(cause)}`, {
          cause,
        });
      });
    const row = rows[0]!;
    return encodeCursor(position ?? before(row.commit_key));
  }

  /**
   * Deletes a consumer, its checkpoint and its parked records. Returns whether it existed. A running
   * instance stops at its next batch with ConsumerDeletedError (that batch rolled back); run again, the
   * consumer starts afresh at the beginning of the basin.
   *
   * @throws InvalidArgumentError, StorageError.
   */
  async delete(name: string, options: { basin?: string } = {}): Promise<boolean> {
    checkConsumerName(name);
    const basin = this.#basin(options.basin);
    assertOpen(this.#context);
    const result = await sql`delete from ${sql.id(this.#context.schema, 'consumers')}
      where basin = ${basin} and name = ${name}`.execute(this.#context.db);
    return Number(result.numAffectedRows ?? 0) > 0;
  }

  /**
   * The records a consumer parked, oldest first.
   *
   * @throws InvalidArgumentError, StorageError.
   */
  async parked(name: string, options: { basin?: string } = {}): Promise<ParkedRecord[]> {
    checkConsumerName(name);
    const basin = this.#basin(options.basin);
    assertOpen(this.#context);
    const { rows } = await sql<{
      stream: string;
      stream_id: string;
      seq_num: string;
      attempts: number;
      error: string;
      parked_at: Date;
    }>`
      select stream, stream_id, seq_num, attempts, error, parked_at
      from ${sql.id(this.#context.schema, 'parked_records')}
      where basin = ${basin} and consumer = ${name} order by parked_at, stream_id, seq_num`.execute(
      this.#context.db,
    );
    return rows.map((r) => ({
      stream: r.stream,
      seqNum: Number(r.seq_num),
      idempotencyKey: idempotencyKey(basin, Number(r.stream_id), Number(r.seq_num), r.stream),
      attempts: r.attempts,
      error: r.error,
      parkedAt: r.parked_at,
    }));
  }

  #basin(basin: string | undefined): string {
    return basin === undefined ? this.#defaultBasin : checkBasinName(basin);
  }
}

/** A row of {@link consumerListStatement}, bigints as numbers (runQuery's parsers). */
interface ListRow {
  basin: string;
  name: string;
  commit_key: string;
  stream_id: number;
  seq_num: number;
  version: number;
  updated_at: Date;
  last_error: string | null;
  parked: number;
  lag: number;
  first_ts: number | null;
}

/**
 * The consumers of basin `$1` with their lag: the records after each one's checkpoint (counted up to
 * LAG_COUNT_LIMIT, in the global index's order: see {@link recordsAfter}) and the timestamp of the first of
 * them. Internal.
 */
export function consumerListStatement(schema: string): Statement {
  const after = recordsAfter(schema, { key: 'c.commit_key', streamId: 'c.stream_id', seqNum: 'c.seq_num' });
  // The consumer's basin's records after its checkpoint, trimmed ones left out.
  const pending = `from ${after.from}
          where ${after.where} and s.basin = c.basin and r.seq_num >= s.trim_point`;
  return {
    name: statementName(schema, 'consumer-list'),
    text: `
      select c.basin, c.name, c.commit_key::text, c.stream_id, c.seq_num, c.version, c.updated_at, c.last_error,
        (select count(*) from ${qualified(schema, 'parked_records')} p
          where p.basin = c.basin and p.consumer = c.name) as parked,
        (select count(*) from (select 1 ${pending}
          order by ${after.indexOrder} limit ${LAG_COUNT_LIMIT}) l) as lag,
        (select r.timestamp ${pending}
          order by f.commit_key, f.stream_id, r.seq_num limit 1) as first_ts
      from ${qualified(schema, 'consumers')} c where c.basin = $1 order by c.name`,
  };
}
