import type pg from 'pg';
import { runQuery } from '../log/run-query.js';
import { textAsStrings } from '../log/text-types.js';
import { readEventsStatement } from './read-events-statement.js';

/**
 * A record as loads see it: seqNum, headers as `[name, value]` pairs (text), body text, timestamp (the
 * statement's row as it is, with two unused columns: no copy per record).
 */
export type EventRow = [
  seqNum: number,
  _b: null,
  _c: null,
  headers: [string, string][] | null,
  body: string | null,
  timestamp: number,
];

/** One page of an aggregate's events, and the stream's state when the read ran. */
export interface EventPage {
  /** The stream's next seqNum when the first page was read. */
  nextSeq: number;
  trimPoint: number;
  /** Where the records start: the requested start, or the snapshot's version. */
  start: number;
  /** The snapshot found, when one was asked for: its version and state (parsed JSON). */
  snapshot: { version: number; state: unknown } | undefined;
  records: EventRow[];
}

type Row = [
  a: number,
  b: number | null,
  c: number | null,
  headers: [string, string][] | null,
  body: string | null,
  timestamp: number,
];

/** Reads aggregates' events in pages, with their snapshot in the first round trip. Internal. */
export class EventReader {
  readonly #pool: pg.Pool;
  readonly #statement: { name: string; text: string };

  constructor(pool: pg.Pool, schema: string) {
    this.#pool = pool;
    this.#statement = { name: `fencepost.${schema}.read-events.v1`, text: readEventsStatement(schema) };
  }

  /**
   * Up to `limit` records from `start` (or from the snapshot of `schemaVersion`, when there is one at or
   * above `start` and at or below `end`) below `end` (default: the tail); undefined when the stream does not
   * exist.
   *
   * @throws StorageError.
   */
  async page(
    basin: string,
    stream: string,
    start: number,
    schemaVersion: number | null,
    end: number | null,
    limit: number,
  ): Promise<EventPage | undefined> {
    const rows = await runQuery<Row>(
      this.#pool,
      { ...this.#statement, values: [basin, stream, start, schemaVersion, end, limit] },
      'read',
      { types: textAsStrings, rowMode: 'array' },
    );
    const head = rows[0];
    if (!head) return undefined;
    const [nextSeq, trimPoint, snapshotVersion, , state, from] = head;
    rows.shift();
    const records = rows as unknown as EventRow[];
    return {
      nextSeq,
      trimPoint: trimPoint!,
      start: from,
      snapshot:
        snapshotVersion === null
          ? undefined
          : { version: snapshotVersion, state: JSON.parse(state!) as unknown },
      records,
    };
  }
}
