import { qualified } from '../db/schema-name.js';
import { textArray } from './array-literal.js';
import { toBuffer } from './bytes.js';
import type { EncodedBatch } from './encode-batch.js';
import type { Head } from './log-context.js';
import {
  COMMIT_KEY,
  conditions,
  creatable,
  defaultConfig,
  NOW_MS,
  recordTimestamp,
  written,
} from './statement-parts.js';
import type { AppendOptions } from './types.js';

/**
 * The append of one record (most appends, and every fence and trim). Its row: the record's `seq_num` and
 * `timestamp` (the stream's new last timestamp), `stream_id` and `watched` (see `written`); none when a
 * condition failed or the stream is missing. The row comes from the stream row's update, not from the
 * insert's RETURNING, which could name only the inserted columns: that took a subquery over the update's
 * result, a plan node more in every execution (measured: 7 and 17 µs of about 200 µs of server time). The
 * insert runs to its end all the same (every data-modifying WITH does), and its failure fails the statement.
 * Parameters: see {@link appendOneParameters}. `also` is more CTEs after `upd` (`, name as (...)`), for
 * variants of the statement (appendMany's command id); the log's own statements have none.
 */
export function appendOneStatement(schema: string, head: Head, also = ''): string {
  return `
with upd as (${head === 'update' ? updateOne(schema) : createOne(schema)})${also},
ins as (
  insert into ${qualified(schema, 'records')}
    (stream_id, seq_num, timestamp, headers, headers_text, body, size, body_utf8, commit_key, span, end_bytes)
  select u.id, u.start, u.last_ts, $4::bytea[], $13::text[], $3::bytea, $11::int, $12::boolean, u.last_key, 1,
    u.bytes
  from upd u
)
select u.start as seq_num, u.last_ts as timestamp, u.stream_id, u.watched from upd u`;
}

function updateOne(schema: string): string {
  return `
  update ${qualified(schema, 'streams')} s set
    next_seq = s.next_seq + 1,
    bytes = s.bytes + $11::int,
    ${COMMIT_KEY},
    last_ts = greatest(s.last_ts, ${recordTimestamp('s.ts_mode', 's.ts_uncapped', '$5::bigint', NOW_MS)}),
    fencing_token = coalesce($8::text, s.fencing_token),
    -- least() ignores nulls: a record that is not a trim leaves the trim point alone.
    trim_point = case when $9::bigint is null then s.trim_point
      else greatest(s.trim_point, least($9::bigint, s.next_seq + 1)) end
  ${conditions({ token: 7, match: 6, missing: 10 })}
  returning s.id, s.next_seq - 1 as start, s.last_ts, s.last_key, s.bytes, ${written()}`;
}

function createOne(schema: string): string {
  return `
  insert into ${qualified(schema, 'streams')} as s
    (basin, name, next_seq, bytes, last_key, last_ts, fencing_token, trim_point, ts_mode, ts_uncapped, config)
  select $1, $2, 1, $11::int, pg_current_xact_id(), ${recordTimestamp('b.ts_mode', 'b.ts_uncapped', '$5::bigint', NOW_MS)}, coalesce($8::text, ''),
    case when $9::bigint is null then 0 else least($9::bigint, 1) end, b.ts_mode, b.ts_uncapped, ${defaultConfig}
  ${creatable(schema, { token: 7, match: 6, missing: 10 })}
  on conflict (basin, name) do nothing
  returning s.id, 0::bigint as start, s.last_ts, s.last_key, s.bytes, ${written({ created: true })}`;
}

/** The single-record statement's parameters. */
export function appendOneParameters(
  basin: string,
  stream: string,
  batch: EncodedBatch,
  options: AppendOptions,
): unknown[] {
  return [
    basin,
    stream,
    batch.body,
    batch.headers.length === 0 || batch.headerText ? null : batch.headers.map(toBuffer),
    batch.timestamps[0],
    options.matchSeqNum ?? null,
    options.fencingToken ?? null,
    batch.newToken,
    batch.trimTargets[0] ?? null,
    batch.missingTimestamp,
    batch.sizes[0],
    batch.utf8[0],
    batch.headers.length === 0 || !batch.headerText ? null : textArray(batch.headerText),
  ];
}
