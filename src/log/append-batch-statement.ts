import { qualified } from '../db/schema-name.js';
import { boolArray, intArray, textArray, textArrays } from './array-literal.js';
import { toBuffer } from './bytes.js';
import { runningTotals, type EncodedBatch } from './encode-batch.js';
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
 * How a batch's timestamps are made. `arrival`: no record has a client timestamp, so every record gets the
 * same one, the database's clock raised to the stream's last timestamp (the stream's new last timestamp).
 * `client`: each record's timestamp is the running maximum of the batch's timestamps, raised to the stream's
 * last one before the batch (a window over the batch, and the timestamps at `$23` returned).
 */
export type Stamping = 'arrival' | 'client';

/**
 * The append of a batch. Its row: the start, the tail, and the timestamps at the 1-based positions `$23`
 * (`client` stamping only); none when a condition failed or the stream is missing.
 * Parameters: see {@link appendParameters}.
 */
export function appendStatement(schema: string, head: Head, stamping: Stamping): string {
  const client = stamping === 'client';
  const timestamp = client
    ? `greatest(u.prev_last_ts,
      max(${recordTimestamp('u.ts_mode', 'u.ts_uncapped', 'b.client_ts', 'c.now_ms')}) over (order by b.ord))`
    : 'u.last_ts';
  return `
with ${client ? `clock as (select ${NOW_MS} as now_ms),` : ''}
batch as (
  select b.ord::int as ord, b.client_ts, b.body_offset, b.body_length, b.size,
    coalesce(b.header_offset, (b.ord::int - 1) * 2 * $20::int) as header_offset,
    coalesce(b.header_count, $20::int) as header_count,
    coalesce(b.utf8, true) as utf8, b.header_text, b.end_bytes
  from unnest($10::bigint[], $5::int[], $6::int[], $8::int[], $9::int[], $17::int[], $18::boolean[], $19::text[],
      $21::int[])
    with ordinality as b(client_ts, body_offset, body_length, header_offset, header_count, size, utf8, header_text,
      end_bytes, ord)
),
upd as (${head === 'update' ? updateMany(schema, stamping) : createMany(schema, stamping)}),
ins as (
  insert into ${qualified(schema, 'records')}
    (stream_id, seq_num, timestamp, headers, headers_text, body, size, body_utf8, commit_key, span, end_bytes)
  select u.id, u.start + b.ord - 1, ${timestamp},
    case when b.header_count > 0 then ($7::bytea[])[b.header_offset + 1 : b.header_offset + 2 * b.header_count] end,
    case when b.header_count > 0 then coalesce(b.header_text::text[], $22::text[]) end,
    substring($4::bytea from b.body_offset + 1 for b.body_length),
    b.size,
    b.utf8,
    u.last_key,
    case when b.ord = 1 then (u.next_seq - u.start)::int end,
    u.base_bytes + b.end_bytes
  from upd u, batch b${client ? ', clock c' : ''}
  ${client ? 'returning seq_num, timestamp' : ''}
)
select u.start, u.next_seq, u.last_ts, ${
    client
      ? '(select array_agg(i.timestamp order by i.seq_num) from ins i where i.seq_num - u.start + 1 = any($23::int[]))'
      : 'null::bigint[]'
  } as marks, u.stream_id, u.watched
from upd u`;
}

/**
 * The batch statement's parameters; `$21` is where each record ends in the batch's metered bytes (see
 * migrations/0006_record_offsets.sql); `$22` the headers every record has, when all have the same (then `$19`
 * is null); and `marks` (`$23`, for `client` stamping) are positions whose timestamps come back.
 */
export function appendParameters(
  basin: string,
  stream: string,
  batch: EncodedBatch,
  options: AppendOptions,
  marks?: readonly number[],
): unknown[] {
  // The usual batch sends less: no per-record header layout when every record has as many headers, one
  // header array when every record has the same headers (Postgres parses it once, not once per record), no
  // timestamps when none is given (arrival stamping), no flags when every body is text.
  const uniform = batch.headerCounts.every((n) => n === batch.headerCounts[0])
    ? batch.headerCounts[0]!
    : null;
  const shared =
    uniform !== null && uniform > 0 && batch.headerText && sameHeaders(batch.headerText, 2 * uniform)
      ? textArray(batch.headerText.slice(0, 2 * uniform))
      : null;
  const values: unknown[] = [
    basin,
    stream,
    batch.count,
    batch.body,
    intArray(batch.bodyOffsets),
    intArray(batch.bodyLengths),
    batch.headerText ? null : batch.headers.map(toBuffer),
    uniform === null ? intArray(batch.headerOffsets) : null,
    uniform === null ? intArray(batch.headerCounts) : null,
    marks ? intArray(batch.timestamps) : null,
    options.matchSeqNum ?? null,
    options.fencingToken ?? null,
    batch.newToken,
    intArray(batch.trimTargets),
    intArray(batch.trimPositions),
    batch.missingTimestamp,
    intArray(batch.sizes),
    batch.utf8.every(Boolean) ? null : boolArray(batch.utf8),
    shared === null && batch.headerText
      ? textArrays(batch.headerText, batch.headerOffsets, batch.headerCounts)
      : null,
    uniform,
    intArray(runningTotals(batch.sizes)),
    shared,
  ];
  if (marks) values.push(intArray(marks));
  return values;
}

/** Whether every record's `width` header strings (laid out one record after another) are the first one's. */
function sameHeaders(text: readonly string[], width: number): boolean {
  for (let i = width; i < text.length; i++) if (text[i] !== text[i - width]) return false;
  return true;
}

function updateMany(schema: string, stamping: Stamping): string {
  const last =
    stamping === 'client'
      ? `(select max(${recordTimestamp('s.ts_mode', 's.ts_uncapped', 'b.client_ts', 'c.now_ms')})
      from batch b, clock c)`
      : NOW_MS;
  return `
  update ${qualified(schema, 'streams')} s set
    next_seq = s.next_seq + $3,
    bytes = s.bytes + ($21::int[])[cardinality($21::int[])],
    ${COMMIT_KEY},
    prev_last_ts = s.last_ts,
    last_ts = greatest(s.last_ts, ${last}),
    fencing_token = coalesce($13::text, s.fencing_token),
    trim_point = greatest(s.trim_point,
      (select max(least(t.target, s.next_seq + t.pos)) from unnest($14::bigint[], $15::int[]) as t(target, pos)))
  ${conditions({ token: 12, match: 11, missing: 16 })}
  returning s.id, s.next_seq - $3 as start, s.next_seq, s.prev_last_ts, s.last_ts, s.ts_mode, s.ts_uncapped,
    s.last_key, s.bytes - ($21::int[])[cardinality($21::int[])] as base_bytes, ${written()}`;
}

function createMany(schema: string, stamping: Stamping): string {
  const last =
    stamping === 'client'
      ? `(select max(${recordTimestamp('b.ts_mode', 'b.ts_uncapped', 'x.client_ts', 'c.now_ms')}) from batch x, clock c)`
      : NOW_MS;
  return `
  insert into ${qualified(schema, 'streams')} as s
    (basin, name, next_seq, bytes, last_key, last_ts, fencing_token, trim_point, ts_mode, ts_uncapped, config)
  select $1, $2, $3, ($21::int[])[cardinality($21::int[])], pg_current_xact_id(), ${last}, coalesce($13::text, ''),
    coalesce((select max(least(t.target, t.pos)) from unnest($14::bigint[], $15::int[]) as t(target, pos)), 0),
    b.ts_mode, b.ts_uncapped, ${defaultConfig}
  ${creatable(schema, { token: 12, match: 11, missing: 16 })}
  on conflict (basin, name) do nothing
  returning s.id, 0::bigint as start, s.next_seq, s.prev_last_ts, s.last_ts, s.ts_mode, s.ts_uncapped,
    s.last_key, 0::bigint as base_bytes, ${written({ created: true })}`;
}
