/**
 * Sets a log's schema back to an earlier migration, as if it had been written by an older fencepost, so a test
 * can check that the newer migrations upgrade it. Each migration after 0004 has its undoing here; a new
 * migration adds its own.
 *
 * ```ts
 * await revertMigrations(log.pool, schema, '0004_commands'); // undoes 0005, 0006, … newest first
 * ```
 */
import type pg from 'pg';

const UNDO: Record<string, (schema: string) => string> = {
  '0005_append_spans': (s) => `
    create index records_global on "${s}".records (commit_key, stream_id, seq_num);
    drop index "${s}".records_appends;
    alter table "${s}".records drop column span;`,
  '0006_record_offsets': (s) => `
    alter table "${s}".records drop column end_bytes;
    alter table "${s}".streams drop column bytes;`,
  '0007_snapshot_aggregates': (s) => `
    alter table "${s}".snapshots drop constraint snapshots_pkey;
    alter table "${s}".snapshots drop column aggregate;
    alter table "${s}".snapshots add primary key (stream_id, schema_version);`,
  '0008_parked_by_stream_id': (s) => `
    alter table "${s}".parked_records drop constraint parked_records_pkey,
      add primary key (basin, consumer, stream, seq_num);`,
  '0009_streams_to_retain': (s) => `
    drop index "${s}".streams_to_retain;`,
  '0010_consumer_advanced_by': (s) => `
    alter table "${s}".consumers drop column advanced_by;`,
  // basins first: dropping the table also locks basins (its foreign key), in the opposite order of an
  // appending process's basin-mark lookup (basins, then basin_watchers), which may still run in the background.
  '0011_basin_watchers': (s) => `
    lock table "${s}".basins in access exclusive mode;
    drop table "${s}".basin_watchers;`,
};

/** Undoes every applied migration named after `to`, newest first, and forgets it in the migrations table. */
export async function revertMigrations(pool: pg.Pool, schema: string, to: string): Promise<void> {
  const { rows } = await pool.query<{ name: string }>(
    `select name from "${schema}".migrations where name > $1 order by name desc`,
    [to],
  );
  for (const { name } of rows) {
    const undo = UNDO[name];
    if (!undo)
      throw new Error(
        `revertMigrations: no undoing of migration ${name} (add one to test/support/migrations.ts)`,
      );
    await pool.query(undo(schema));
    await pool.query(`delete from "${schema}".migrations where name = $1`, [name]);
  }
}
