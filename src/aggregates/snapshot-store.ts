import type pg from 'pg';
import { qualified } from '../db/schema-name.js';
import { runQuery } from '../log/run-query.js';
import { statementName } from '../log/statement-name.js';

/** A snapshot to store: the version (the state is after the events below it) and the state as JSON text. */
export interface SnapshotJson {
  version: number;
  json: string;
}

/**
 * Stores snapshots of aggregate states in Postgres, one per stream, aggregate and state schema version: the
 * newest one taken. Keyed by the stream's row, so a deleted and recreated stream never sees its predecessor's,
 * and by the aggregate's name, so that two aggregates reading one stream never see each other's. (They are
 * read with the events, by EventReader.)
 */
export class SnapshotStore {
  readonly #pool: pg.Pool;
  readonly #write: { name: string; text: string };
  readonly #writeAfterAppend: { name: string; text: string };

  constructor(pool: pg.Pool, schema: string) {
    this.#pool = pool;
    const snapshots = qualified(schema, 'snapshots');
    const streams = qualified(schema, 'streams');
    const upsert = `on conflict (stream_id, aggregate, schema_version) do update
          set version = excluded.version, state = excluded.state, created_at = clock_timestamp()
          where sn.version < excluded.version`;
    this.#write = {
      name: statementName(schema, 'snapshot-write', 2),
      text: `insert into ${snapshots} as sn (stream_id, aggregate, schema_version, version, state)
        values ($1, $2, $3, $4, $5::jsonb) ${upsert}`,
    };
    const records = qualified(schema, 'records');
    this.#writeAfterAppend = {
      name: statementName(schema, 'snapshot-write-after-append'),
      text: `insert into ${snapshots} as sn (stream_id, aggregate, schema_version, version, state)
        select s.id, $4, $5, $6, $7::jsonb from ${streams} s
        where s.basin = $1 and s.name = $2
          and exists (select from ${records} r
                      where r.stream_id = s.id and r.seq_num = $6::bigint - 1 and $3::text = any(r.headers_text))
        ${upsert}`,
    };
  }

  /**
   * Stores a snapshot of the stream whose row is `streamId` (as a read of its events found it) unless a newer
   * one is there; a stream deleted since fails the write on its key.
   *
   * @throws StorageError.
   */
  async write(streamId: number, key: SnapshotKey, snapshot: SnapshotJson): Promise<void> {
    await this.#run(this.#write, [streamId, ...keyValues(key, snapshot)]);
  }

  /**
   * {@link write} after an append (whose ack names no stream row): to the stream of that name whose record
   * just below the snapshot's version is the append's last event, `lastEventId`; to none when the stream was
   * deleted (and maybe created again) since.
   */
  async writeAfterAppend(
    append: { basin: string; stream: string; lastEventId: string },
    key: SnapshotKey,
    snapshot: SnapshotJson,
  ): Promise<void> {
    const { basin, stream, lastEventId } = append;
    await this.#run(this.#writeAfterAppend, [basin, stream, lastEventId, ...keyValues(key, snapshot)]);
  }

  async #run(statement: { name: string; text: string }, values: unknown[]): Promise<void> {
    // A lost connection here loses nothing: a snapshot is only a cache of the events.
    await runQuery(this.#pool, { ...statement, values }, 'read');
  }
}

/** Whose snapshot it is: the aggregate's name and its state schema version. */
export interface SnapshotKey {
  aggregate: string;
  schemaVersion: number;
}

function keyValues(key: SnapshotKey, snapshot: SnapshotJson): unknown[] {
  return [key.aggregate, key.schemaVersion, snapshot.version, snapshot.json];
}
