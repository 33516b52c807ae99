import { sql } from 'kysely';
import type { LogContext } from './log-context.js';
import { seekTimestamp } from './read-page.js';
import type { StreamConfig } from './types.js';
import { withStorageErrors } from './with-storage-errors.js';

/** Records deleted per statement, so a sweep never holds long locks or builds a huge transaction. */
const CHUNK = 10_000;

/**
 * The background upkeep of streams: applies retention (`retentionPolicy.age`: records older than that, by the
 * database's clock, are trimmed), deletes streams configured with `deleteOnEmpty` that have been empty that
 * long, and deletes trimmed records (below each stream's trim point). Reads hide trimmed records from the
 * moment the trim commits; deleting them only reclaims space. Internal.
 */
export class Sweeper {
  readonly #context: LogContext;
  readonly #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | undefined;

  constructor(context: LogContext, intervalMs: number) {
    this.#context = context;
    if (intervalMs > 0) {
      this.#timer = setInterval(() => void this.sweep().catch(() => undefined), intervalMs);
      this.#timer.unref();
    }
  }

  /**
   * Sweeps every stream with trimmed records still stored; returns how many records were deleted.
   *
   * @throws StorageError.
   */
  sweep(): Promise<number> {
    this.#running ??= withStorageErrors('change', () => this.#sweep()).finally(
      () => (this.#running = undefined),
    );
    return this.#running;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running?.catch(() => undefined);
  }

  async #sweep(): Promise<number> {
    const { db } = this.#context;
    await this.#retain();
    let deleted = 0;
    for (;;) {
      if (this.#context.state.closed) return deleted;
      const streams = await db
        .selectFrom('streams')
        .select(['id', 'swept', 'trim_point'])
        .where(sql<boolean>`swept < trim_point`)
        .limit(100)
        .execute();
      if (streams.length === 0) return deleted;
      for (const stream of streams) {
        let from = Number(stream.swept);
        const to = Number(stream.trim_point);
        while (from < to) {
          const upTo = Math.min(to, from + CHUNK);
          deleted += await this.#delete(stream.id, from, upTo);
          from = upTo;
        }
        await db
          .updateTable('streams')
          .set({ swept: sql`greatest(swept, ${String(to)}::bigint)` })
          .where('id', '=', stream.id)
          .execute();
      }
    }
  }

  /**
   * Deletes a stream's records in `[from, to)`. When that deletes the first record of an append that goes on
   * at `to`, the record at `to` becomes the append's first, with the rest of its span, in the same statement:
   * the global log finds an append's records through its first record (migrations/0005_append_spans.sql).
   */
  async #delete(streamId: string, from: number, to: number): Promise<number> {
    const records = sql.id(this.#context.schema, 'records');
    const { rows } = await sql<{ deleted: string }>`
      with gone as (
        delete from ${records} where stream_id = ${streamId} and seq_num >= ${from} and seq_num < ${to}
        returning seq_num, span
      ),
      cut as (select max(seq_num + span) as stop from gone where span is not null),
      moved as (
        update ${records} r set span = c.stop - ${to}::bigint from cut c
        where r.stream_id = ${streamId} and r.seq_num = ${to} and c.stop > ${to}::bigint
      )
      select count(*) as deleted from gone`.execute(this.#context.db);
    return Number(rows[0]?.deleted ?? 0);
  }

  /** Trims records past their stream's retention age, and deletes streams empty for their deleteOnEmpty age. */
  async #retain(): Promise<void> {
    const { db } = this.#context;
    const configured = await db
      .selectFrom('streams')
      .select(['id', 'basin', 'name', 'config', 'next_seq', 'trim_point', 'last_ts', 'created_at'])
      .where(sql<boolean>`config ?| array['retentionPolicy', 'deleteOnEmpty']`)
      .execute();
    if (configured.length === 0) return;
    const { rows } = await sql<{
      now: string;
    }>`select (date_part('epoch', clock_timestamp()) * 1000)::bigint as now`.execute(db);
    const now = Number(rows[0]!.now);
    for (const stream of configured) {
      if (this.#context.state.closed) return;
      const config = stream.config as StreamConfig;
      const age =
        config.retentionPolicy && 'age' in config.retentionPolicy ? config.retentionPolicy.age : undefined;
      if (age !== undefined) {
        const keepFrom = await seekTimestamp(this.#context, stream.basin, stream.name, now - age * 1000);
        await db
          .updateTable('streams')
          .set({ trim_point: sql`least(${String(keepFrom)}::bigint, next_seq)` })
          .where('id', '=', stream.id)
          // Only when it moves: a no-op update would still lock the row against appends and leave a dead row.
          .where(sql<boolean>`trim_point < least(${String(keepFrom)}::bigint, next_seq)`)
          .execute();
      }
      const minAge = config.deleteOnEmpty?.minAgeSecs;
      if (minAge) {
        // 0 is off, as in S2 (`min_age_secs`: "0 disables automatic deletion").
        const cutoff = now - minAge * 1000;
        await db.transaction().execute(async (trx) => {
          const gone = await trx
            .deleteFrom('streams')
            .where('id', '=', stream.id)
            .where(sql<boolean>`trim_point >= next_seq`)
            .where(sql<boolean>`last_ts < ${String(cutoff)}::bigint`)
            .where(sql<boolean>`created_at < to_timestamp(${cutoff / 1000})`)
            .returning('id')
            .executeTakeFirst();
          if (gone) await trx.deleteFrom('records').where('stream_id', '=', stream.id).execute();
        });
      }
    }
  }
}
