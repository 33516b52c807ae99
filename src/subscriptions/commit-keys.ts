import type pg from 'pg';
import { qualified } from '../db/schema-name.js';
import { StorageError } from '../log/errors.js';
import { refusedByDatabase } from '../log/run-query.js';
import { CommitKeysAheadError } from './errors.js';

/** Postgres error codes of a schema not migrated yet: no table, or no column of it. */
const NOT_MIGRATED = new Set(['42P01', '42703']);

/**
 * Checks that the log's commit keys are transaction ids of this cluster: the highest key of a record must be
 * below `pg_snapshot_xmax(pg_current_snapshot())`, the next transaction id, which it always is where the keys
 * were written (a key is at most its own transaction's id, or a key before it). A log copied from a cluster
 * further along (pg_dump/pg_restore, a logical-replication switchover) fails it: its keys would stay above
 * the horizon, and every follower and consumer would stall until the counter passed them. One probe of the
 * global index (about 0.03 ms on 1,000,000 records, measured); it takes no transaction id. A schema not
 * migrated yet has nothing to check. Calls `cleanUp` (the caller's pool) before it throws. Internal: called
 * by `EventLog.connect`.
 *
 * Not checked: `streams.last_key` of a stream whose records were all trimmed and swept (its next append would
 * carry that key). Scanning the streams table for it took 13–24 ms per 100,000 streams (measured), growing
 * with their number: too much for every connect.
 *
 * @throws CommitKeysAheadError naming the highest key and the next transaction id; StorageError when the
 *   database cannot be asked.
 */
export async function checkCommitKeys(
  pool: pg.Pool,
  schema: string,
  cleanUp?: () => Promise<void>,
): Promise<void> {
  try {
    let row: { key: string | null; next: string } | undefined;
    try {
      ({
        rows: [row],
      } = await pool.query<{ key: string | null; next: string }>(
        `select (select max(commit_key) from ${qualified(schema, 'records')} where span is not null)::text as key,
           pg_snapshot_xmax(pg_current_snapshot())::text as next`,
      ));
    } catch (cause) {
      if (NOT_MIGRATED.has((cause as { code?: string }).code ?? '')) return;
      throw new StorageError(`checking the commit keys of schema ${schema} failed: ${String(cause)}`, {
        cause,
        connectionLost: !refusedByDatabase(cause),
      });
    }
    if (row?.key != null && BigInt(row.key) >= BigInt(row.next)) {
      throw new CommitKeysAheadError(schema, row.key, row.next);
    }
  } catch (error) {
    await cleanUp?.().catch(() => undefined);
    throw error;
  }
}
