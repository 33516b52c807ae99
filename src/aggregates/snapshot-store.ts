import type pg from 'pg';
import { qualified } from '../db/schema-name.js';
import { runQuery } from '../log/run-query.js';

/** A stored snapshot: the state after the events below `version`. */
export interface Snapshot {
  version: number;
  state: unknown;
}

/**
 * Snapshots of aggregate states in Postgres, one per stream and state schema version: the newest one
 * taken. Keyed by the stream's row, so a deleted and recreated stream never sees its predecessor's.
 */
export class SnapshotStore {
  readonly #pool: pg.Pool;
  readonly #read: { name: string; text: string };
  readonly #write: { name: string; text: string };

  constructor(pool: pg.Pool, schema: string) {
    this.#pool = pool;
    const snapshots = qualified(schema, 'snapshots');
    const streams = qualified(schema, 'streams');
    this.#read = {
      name: `fencepost.${schema}.snapshot-read.v1`,
      text: `select sn.version, sn.state from ${snapshots} sn join ${streams} s on s.id = sn.stream_id
        where s.basin = $1 and s.name = $2 and sn.schema_version = $3`,
    };
    this.#write = {
      name: `fencepost.${schema}.snapshot-write.v1`,
      text: `insert into ${snapshots} as sn (stream_id, schema_version, version, state)
        select s.id, $3, $4, $5::jsonb from ${streams} s where s.basin = $1 and s.name = $2
        on conflict (stream_id, schema_version) do update
          set version = excluded.version, state = excluded.state, created_at = clock_timestamp()
          where sn.version < excluded.version`,
    };
  }

  /** The snapshot of a stream at a state schema version, if one was taken. @throws StorageError. */
  async read(basin: string, stream: string, schemaVersion: number): Promise<Snapshot | undefined> {
    const [row] = await runQuery<{ version: number; state: unknown }>(
      this.#pool,
      { ...this.#read, values: [basin, stream, schemaVersion] },
      'read',
    );
    return row;
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
