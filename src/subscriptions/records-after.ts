import { qualified } from '../db/schema-name.js';
import { MAX_BATCH_RECORDS } from '../log/limits.js';

/** A position in the global log as three SQL expressions (parameters or columns). */
export interface PositionSql {
  key: string;
  streamId: string;
  seqNum: string;
}

/**
 * The FROM and WHERE of "every record after a position, in global order": the records `r` (seq_num,
 * timestamp, headers, headers_text, body, body_utf8) of the appends `f` (commit_key, stream_id, span) after
 * `after`, with each one's stream `s`. Order them by `f.commit_key, f.stream_id, r.seq_num`.
 *
 * The global index holds one entry per append: its first record, which carries the append's `span` (see
 * migrations/0005_append_spans.sql). So the appends are walked in the index, and each one's records are
 * taken from the primary key: the first record itself when the append has one record (no second probe),
 * else the span's range. An append that began at most a batch before the position may still have records
 * after it, so the walk starts there, and the ranges start after the position.
 *
 * Each append's stream `s` comes from {@link appendStream}.
 *
 * A query over these rows with a `limit` orders by `indexOrder` (the global index's own order), or by the
 * records' order, which begins with it: unordered, the limit lets the generic plan (fencepost's pools force
 * generic plans) expect an early match in a scan of the whole records table, and when nothing matches it
 * reads every row (260–460 ms on 1.9 million records, against 0.03 ms walking the index; bench/FINDINGS.md).
 */
export function recordsAfter(
  schema: string,
  after: PositionSql,
): { from: string; where: string; indexOrder: string } {
  const records = qualified(schema, 'records');
  const { key, streamId, seqNum } = after;
  return {
    from: `${records} f
  ${appendStream(schema)}
  cross join lateral (
    select f.seq_num, f.timestamp, f.headers, f.headers_text, f.body, f.body_utf8
    where f.span = 1 and (f.commit_key, f.stream_id, f.seq_num) > (${key}, ${streamId}, ${seqNum})
    union all
    select r.seq_num, r.timestamp, r.headers, r.headers_text, r.body, r.body_utf8
    from ${records} r
    where f.span > 1 and r.stream_id = f.stream_id and r.seq_num < f.seq_num + f.span
      and r.seq_num >= greatest(f.seq_num,
        case when f.commit_key = ${key} and f.stream_id = ${streamId} then ${seqNum} + 1 else 0 end)
  ) r`,
    where: `f.span is not null
    and (f.commit_key, f.stream_id, f.seq_num) > (${key}, ${streamId}, ${seqNum} - ${MAX_BATCH_RECORDS})`,
    indexOrder: 'f.commit_key, f.stream_id, f.seq_num',
  };
}

/**
 * The stream `s` (name, basin, trim_point) of the append `f`, looked up by its primary key: `offset 0` keeps
 * the planner from joining the streams table another way. With statistics taken while the table was small,
 * the generic plan otherwise read every stream of the basin and scanned them for each append (measured: a
 * full read of 603,000 records in 8.6 s instead of 1.6 s; with fresh statistics both take 1.6 s).
 */
export function appendStream(schema: string): string {
  return `cross join lateral (select s.name, s.basin, s.trim_point from ${qualified(schema, 'streams')} s
    where s.id = f.stream_id offset 0) s`;
}
