import type { ColumnType, Generated } from 'kysely';

/** Table shapes of fencepost's schema, as created by `migrations/`. */
export interface BasinsTable {
  name: string;
  config: ColumnType<unknown, string, string>;
  create_stream_on_append: boolean;
  create_stream_on_read: boolean;
  ts_mode: number;
  ts_uncapped: boolean;
  created_at: ColumnType<Date, never, never>;
}

export interface StreamsTable {
  id: Generated<string>;
  basin: string;
  name: string;
  next_seq: ColumnType<string, never, never>;
  last_ts: ColumnType<string, never, never>;
  prev_last_ts: ColumnType<string, never, never>;
  fencing_token: ColumnType<string, never, never>;
  trim_point: ColumnType<string, never, string>;
  swept: ColumnType<string, never, string>;
  ts_mode: number;
  ts_uncapped: boolean;
  config: ColumnType<unknown, string, string>;
  watched_until: ColumnType<Date | null, never, never>;
  /** The commit key of the stream's last record (xid8, as text): see migrations/0002_global_log.sql. */
  last_key: ColumnType<string, never, never>;
  /** The metered bytes appended so far: see migrations/0006_record_offsets.sql. */
  bytes: ColumnType<string, never, never>;
  created_at: ColumnType<Date, never, never>;
}

export interface RecordsTable {
  stream_id: string;
  seq_num: string;
  timestamp: string;
  headers: Buffer[] | null;
  body: Buffer;
  size: number;
  /** The record's position in the global log (xid8, as text): see migrations/0002_global_log.sql. */
  commit_key: ColumnType<string, never, never>;
  /** On an append's first record, how many records the append wrote: see migrations/0005_append_spans.sql. */
  span: ColumnType<number | null, never, never>;
  /** Where the record ends in its stream's metered bytes: see migrations/0006_record_offsets.sql. */
  end_bytes: ColumnType<string, never, never>;
}

export interface Database {
  basins: BasinsTable;
  streams: StreamsTable;
  records: RecordsTable;
}
