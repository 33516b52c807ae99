import { sql } from 'kysely';
import type { LogContext } from './log-context.js';

/** Records deleted per statement, so a sweep never holds long locks or builds a huge transaction. */
const CHUNK = 10_000;

/**
 * Deletes trimmed records (below each stream's trim point) in the background. Reads hide them from the moment
 * the trim commits; the sweep only reclaims space. Internal.
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

  /** Sweeps every stream with trimmed records still stored; returns how many records were deleted. */
  sweep(): Promise<number> {
    this.#running ??= this.#sweep().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running?.catch(() => undefined);
  }

  async #sweep(): Promise<number> {
    const { db } = this.#context;
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
          const result = await db
            .deleteFrom('records')
            .where('stream_id', '=', stream.id)
            .where('seq_num', '>=', String(from))
            .where('seq_num', '<', String(upTo))
            .executeTakeFirst();
          deleted += Number(result.numDeletedRows);
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
}
