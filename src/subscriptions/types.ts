import type { ReadAs, SequencedRecord } from '../log/types.js';
import type { Cursor } from './cursor.js';
import type { GlobalFilter } from './global-filter.js';

/** A record of a basin's global log: a stream's record, with where it is in the stream and in the basin. */
export interface GlobalRecord<T extends string | Uint8Array = string> extends SequencedRecord<T> {
  basin: string;
  /** The stream's name. */
  stream: string;
  /** The position just after this record: pass it as `after` to continue behind it. */
  cursor: Cursor;
}

/** Options of `log.readAll`. */
export interface ReadAllOptions<A extends ReadAs = 'string'> {
  /** The basin (default: the log's basin). */
  basin?: string;
  /** Start after this cursor (default: the start of the basin). */
  after?: Cursor;
  /** At most this many records (1–10,000; default 1,000). */
  count?: number;
  filter?: GlobalFilter;
  as?: A;
}

/** One page of the global log. */
export interface ReadAllBatch<T extends string | Uint8Array = string> {
  records: GlobalRecord<T>[];
  /**
   * Where the next read continues: after the last record, or further when the read saw that no record below
   * the horizon is left (so a filtered read does not scan the same records again).
   */
  cursor: Cursor;
  /** The commit horizon the read saw (an xid8 as text): every record below it has been considered. */
  horizon: string;
}

/** Options of `log.followAll`. */
export interface FollowAllOptions<A extends ReadAs = 'string'> {
  basin?: string;
  after?: Cursor;
  filter?: GlobalFilter;
  as?: A;
  signal?: AbortSignal;
  /**
   * Called when the follower has waited `stallAfterMs` at a horizon that has not moved while committed
   * records wait above it (default: one `console.warn` line per report).
   */
  onStalled?: (report: StallReport) => void;
  /** How long an unmoving horizon with records waiting above it is tolerated before a report (default 10,000). */
  stallAfterMs?: number;
}

/** Who holds the commit horizon back: the backend (or prepared transaction) whose transaction id it is. */
export interface HorizonHolder {
  /** The backend's pid; null for a prepared transaction. */
  pid: number | null;
  /** pg_stat_activity's state, e.g. 'idle in transaction'; 'prepared' for a prepared transaction. */
  state: string | null;
  database: string | null;
  applicationName: string | null;
  /** When the transaction started. */
  xactStart: Date | null;
  /** How long it has been open, by the database's clock, in ms. */
  ageMs: number | null;
  /** The backend's current or last query (truncated by Postgres to track_activity_query_size). */
  query: string | null;
}

/** The commit horizon of the cluster, and who holds it when it is held. */
export interface HorizonReport {
  horizon: string;
  /** The open transaction whose id is the horizon; null when none holds it (or it ended meanwhile). */
  heldBy: HorizonHolder | null;
}

/** What a follower reports when the horizon holds it back. */
export interface StallReport extends HorizonReport {
  basin: string;
  /** Committed records of the basin waiting above the horizon (counted up to 10,000). */
  waitingRecords: number;
  /** Age of the oldest waiting record (now minus its timestamp), in ms. */
  lagMs: number;
}
