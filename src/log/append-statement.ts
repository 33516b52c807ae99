import { qualified } from '../db/schema-name.js';
import type { EncodedBatch } from './encode-batch.js';

/** The channel on which appends to watched streams notify followers in other processes. */
export function notifyChannel(schema: string): string {
  return `fencepost_${schema}`;
}

/**
 * The append, as one statement (one round trip, a cached plan). Its steps:
 *
 * 1. `upd`: a conditional UPDATE of the stream row. It takes the row lock and checks the fencing token, then
 *    `matchSeqNum`, at once; READ COMMITTED re-checks the conditions on the newest row version after waiting
 *    for the lock. It reserves the sequence numbers and moves the timestamp floor, the token and the trim point.
 * 2. `created`: when the stream does not exist and its basin creates streams on append, the stream row is
 *    inserted with the batch already counted (the conditions are checked against a new stream: tail 0, token '').
 * 3. `ins`: the records, numbered from the reserved start. A conflict here is an error, never ignored.
 * 4. `cur`, only when nothing matched: a FOR SHARE read of the stream row, which waits for an append in flight
 *    and then sees the newest version (FOR KEY SHARE would not: it ignores non-key updates), so a
 *    failed condition reports the true tail or token.
 *
 * Parameters: see {@link appendParameters}. Rows: one `ok` row, or one `conflict` row (the stream's current
 * state), or one `no_stream` / `no_stream_creatable` row, or none when the basin does not exist.
 */
export function appendStatement(schema: string): string {
  const streams = qualified(schema, 'streams');
  const records = qualified(schema, 'records');
  const basins = qualified(schema, 'basins');
  const ts = qualified(schema, 'record_timestamp');
  const channel = `'${notifyChannel(schema)}'`;
  return `
with clock as (
  select (extract(epoch from clock_timestamp()) * 1000)::bigint as now_ms
),
batch as (
  select b.ord::int as ord, b.client_ts, b.body_offset, b.body_length, b.header_offset, b.header_count, b.size
  from unnest($10::bigint[], $5::int[], $6::int[], $8::int[], $9::int[], $18::int[]) with ordinality
    as b(client_ts, body_offset, body_length, header_offset, header_count, size, ord)
),
upd as (
  update ${streams} s set
    next_seq = s.next_seq + $3,
    prev_last_ts = s.last_ts,
    last_ts = greatest(s.last_ts,
      (select max(${ts}(s.ts_mode, s.ts_uncapped, b.client_ts, c.now_ms)) from batch b, clock c)),
    fencing_token = coalesce($13::text, s.fencing_token),
    trim_point = greatest(s.trim_point,
      (select max(least(t.target, s.next_seq + t.pos)) from unnest($14::bigint[], $15::int[]) as t(target, pos)))
  where s.basin = $1 and s.name = $2
    and ($12::text is null or s.fencing_token = $12::text)
    and ($11::bigint is null or s.next_seq = $11::bigint)
    and (not $16::boolean or s.ts_mode <> 1)
  returning s.id, s.next_seq - $3 as start, s.next_seq, s.prev_last_ts, s.last_ts, s.ts_mode, s.ts_uncapped,
    s.watched_until
),
created as (
  insert into ${streams} as s
    (basin, name, next_seq, last_ts, prev_last_ts, fencing_token, trim_point, ts_mode, ts_uncapped, config)
  select $1, $2, $3,
    (select max(${ts}(bas.ts_mode, bas.ts_uncapped, b.client_ts, c.now_ms)) from batch b, clock c),
    0, coalesce($13::text, ''),
    coalesce((select max(least(t.target, t.pos)) from unnest($14::bigint[], $15::int[]) as t(target, pos)), 0),
    bas.ts_mode, bas.ts_uncapped, coalesce(bas.config -> 'defaultStreamConfig', '{}'::jsonb)
  from ${basins} bas
  where bas.name = $1 and bas.create_stream_on_append
    and not exists (select 1 from upd)
    and ($12::text is null or $12::text = '')
    and ($11::bigint is null or $11::bigint = 0)
    and (not $16::boolean or bas.ts_mode <> 1)
  on conflict (basin, name) do nothing
  returning s.id, 0::bigint as start, s.next_seq, s.prev_last_ts, s.last_ts, s.ts_mode, s.ts_uncapped,
    s.watched_until
),
target as (
  select * from upd union all select * from created
),
ins as (
  insert into ${records} (stream_id, seq_num, timestamp, headers, body, size)
  select t.id, t.start + b.ord - 1,
    greatest(t.prev_last_ts,
      max(${ts}(t.ts_mode, t.ts_uncapped, b.client_ts, c.now_ms)) over (order by b.ord)),
    case when b.header_count = 0 then null
      else ($7::bytea[])[b.header_offset + 1 : b.header_offset + 2 * b.header_count] end,
    substring($4::bytea from b.body_offset + 1 for b.body_length),
    b.size
  from target t, batch b, clock c
  returning seq_num, timestamp
),
notified as (
  select pg_notify(${channel}, t.id::text) from target t where t.watched_until > clock_timestamp()
),
cur as (
  select s.next_seq, s.last_ts, s.fencing_token, s.ts_mode
  from ${streams} s
  where s.basin = $1 and s.name = $2 and not exists (select 1 from target)
  for share
)
select 'ok' as outcome, t.start, t.next_seq, t.last_ts, null::text as fencing_token, t.ts_mode,
  (select array_agg(i.timestamp order by i.seq_num) from ins i where i.seq_num - t.start + 1 = any($17::int[]))
    as marks,
  (select count(*) from notified) as notified
from target t
union all
select 'conflict', null, c.next_seq, c.last_ts, c.fencing_token, c.ts_mode, null, null
from cur c
union all
select case when bas.create_stream_on_append then 'no_stream_creatable' else 'no_stream' end,
  null, null, null, null, bas.ts_mode, null, null
from ${basins} bas
where bas.name = $1 and not exists (select 1 from target) and not exists (select 1 from cur)`;
}

/** The statement's parameters for a batch; `marks` are the 1-based positions whose timestamps come back. */
export function appendParameters(
  basin: string,
  stream: string,
  batch: EncodedBatch,
  options: { matchSeqNum?: number | undefined; fencingToken?: string | undefined },
  marks: readonly number[],
): unknown[] {
  return [
    basin,
    stream,
    batch.count,
    batch.body,
    batch.bodyOffsets,
    batch.bodyLengths,
    batch.headers,
    batch.headerOffsets,
    batch.headerCounts,
    batch.timestamps,
    options.matchSeqNum ?? null,
    options.fencingToken ?? null,
    batch.newToken,
    batch.trimTargets,
    batch.trimPositions,
    batch.missingTimestamp,
    marks,
    batch.sizes,
  ];
}
