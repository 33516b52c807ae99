import type pg from 'pg';
import { scanQuery } from '../log/run-query.js';
import { statementName } from '../log/statement-name.js';
import { lateAsStrings } from '../log/text-types.js';
import { readEventsStatement } from './read-events-statement.js';

/**
 * A record as loads see it: seqNum, headers as Postgres prints their text[] (names and values; see
 * `EventCodec.decodeText`), body text, timestamp (the statement's row as it is, with three unused columns: no
 * copy per record).
 */
export type EventRow = [
  seqNum: number,
  _b: null,
  _c: null,
  headers: string | null,
  body: string | null,
  timestamp: number,
  _g: null,
];

/** The stream's state when a read of its events ran, and the snapshot the read found. */
export interface EventHead {
  /** The stream row's id: snapshots are stored by it, so that one never lands on a recreated stream. */
  streamId: number;
  /** The stream's next seqNum when the read ran. */
  nextSeq: number;
  trimPoint: number;
  /** Where the records start: the requested start, or the snapshot's version. */
  start: number;
  /** The snapshot found, when one was asked for: its version and state (parsed JSON). */
  snapshot: { version: number; state: unknown } | undefined;
}

type Row = [
  a: number,
  b: number | null,
  c: number | null,
  headers: string | null,
  body: string | null,
  timestamp: number,
  streamId: number | null,
];

/** Reads aggregates' events in pages, with their snapshot in the first round trip. Internal. */
export class EventReader {
  readonly #pool: pg.Pool;
  readonly #statement: { name: string; text: string };

  constructor(pool: pg.Pool, schema: string) {
    this.#pool = pool;
    this.#statement = { name: statementName(schema, 'read-events'), text: readEventsStatement(schema) };
  }

  /**
   * Up to `limit` records from `start` (or from `snapshot`'s, the snapshot of that aggregate and state schema
   * version, when there is one at or above `start` and at or below `end`) below `end` (default: the tail), each handed to `onRecord` as it
   * arrives, never collected (a page of rows is never held at once). `onHead` sees the stream's state first;
   * when it returns false, the records are skipped. Returns the head and how many records came; undefined
   * when the stream does not exist. An error either callback throws is thrown once the statement has ended,
   * and no callback runs after it.
   *
   * @throws StorageError, or what a callback threw.
   */
  async scan(
    basin: string,
    stream: string,
    start: number,
    snapshot: { aggregate: string; schemaVersion: number } | null,
    end: number | null,
    limit: number,
    onHead: (head: EventHead) => boolean,
    onRecord: (record: EventRow) => void,
  ): Promise<{ head: EventHead; count: number } | undefined> {
    let head: EventHead | undefined;
    let wanted = true;
    const rows = await scanQuery<Row>(
      this.#pool,
      {
        ...this.#statement,
        values: [
          basin,
          stream,
          start,
          snapshot?.schemaVersion ?? null,
          end,
          limit,
          snapshot?.aggregate ?? null,
        ],
      },
      (row) => {
        if (head === undefined) {
          head = headOf(row);
          wanted = onHead(head);
        } else if (wanted) onRecord(row as unknown as EventRow);
      },
      { types: lateAsStrings.types, rowMode: 'array' },
    );
    return head && { head, count: rows - 1 };
  }
}

/** The stream's row of the statement (see read-events-statement.ts). */
function headOf([nextSeq, trimPoint, snapshotVersion, , state, from, streamId]: Row): EventHead {
  return {
    streamId: streamId!,
    nextSeq,
    trimPoint: trimPoint!,
    start: from,
    snapshot:
      snapshotVersion === null
        ? undefined
        : { version: snapshotVersion, state: JSON.parse(state!) as unknown },
  };
}
