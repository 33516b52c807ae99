import type pg from 'pg';
import { qualified } from '../db/schema-name.js';
import { runQuery } from '../log/run-query.js';
import { statementName } from '../log/statement-name.js';

/** A stored snapshot: the state after the events below `version`. */
export interface Snapshot {
  version: number;
  state: unknown;
}

/**
 * Stores snapshots of aggregate states in Postgres, one per stream and state schema version: the newest one
 * taken. Keyed by the stream's row, so a deleted and recreated stream never sees its predecessor's. (They are
 * read with the events, by EventReader.)
 */
export class SnapshotStore {
  readonly #pool: pg.Pool;
  readonly #write: { name: string; text: string };

  constructor(pool: pg.Pool, schema: string) {
    this.#pool = pool;
    const snapshots = qualified(schema, 'snapshots');
    const streams = qualified(schema, 'streams');
    this.#write = {
      name: statementName(schema, 'snapshot-write'),
      text: `insert into ${snapshots} as sn (stream_id, schema_version, version, state)
        select s.id, $3, $4, $5::jsonb from ${streams} s where s.basin = $1 and s.name = $2
        on conflict (stream_id, schema_version) do update
          set version = excluded.version, state = excluded.state, created_at = clock_timestamp()
          where sn.version < excluded.version`,
    };
  }

  /** Stores a snapshot unless a newer one is there. @throws StorageError. */
  async write(basin: string, stream: string, schemaVersion: number, snapshot: Snapshot): Promise<void> {
    await runQuery(
      this.#pool,
      {
        ...this.#write,
        values: [basin, stream, schemaVersion, snapshot.version, JSON.stringify(snapshot.state)],
      },
      'read', // a lost connection here loses nothing: a snapshot is only a cache of the events
    );
  }
}
