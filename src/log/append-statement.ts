import { qualified } from '../db/schema-name.js';
import type { EncodedBatch } from './encode-batch.js';

/** The channel on which appends to watched streams notify followers in other processes. */
export function notifyChannel(schema: string): string {
  return `fencepost_${schema}`;
}

/**
 * The append of a batch, as one statement (one round trip, a cached plan). Its steps:
 *
 * 1. `upd`: a conditional UPDATE of the stream row. It takes the row lock and checks the fencing token, then
 *    `matchSeqNum`, at once; READ COMMITTED re-checks the conditions on the newest row version after waiting
 *    for the lock. It reserves the sequence numbers, moves the timestamp floor, the token and the trim point,
 *    and NOTIFYs followers in other processes if one watches the stream.
 * 2. `ins`: the records, numbered from the reserved start. A conflict here is an error, never ignored.
 * 3. `cur`, only when nothing matched: a FOR SHARE read of the stream row, which waits for an append in flight
 *    and then sees the newest version (FOR KEY SHARE would not: it ignores non-key updates), so a failed
 *    condition reports the true tail and token.
 *
 * Rows: one `ok` row (start, tail, the timestamps at the positions `$17`), or one row with `ok` false (the
 * stream's current state), or none when the stream does not exist (see appendEncoded).
 * Parameters: see {@link appendParameters}.
 */
export function appendStatement(schema: string): string {
  const streams = qualified(schema, 'streams');
  const records = qualified(schema, 'records');
  const ts = qualified(schema, 'record_timestamp');
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
  ${conditions({ token: 12, match: 11, missing: 16 })}
  returning s.id, s.next_seq - $3 as start, s.next_seq, s.prev_last_ts, s.last_ts, s.ts_mode, s.ts_uncapped,
    ${notify(schema)}
),
ins as (
  insert into ${records} (stream_id, seq_num, timestamp, headers, body, size)
  select u.id, u.start + b.ord - 1,
    greatest(u.prev_last_ts,
      max(${ts}(u.ts_mode, u.ts_uncapped, b.client_ts, c.now_ms)) over (order by b.ord)),
    case when b.header_count = 0 then null
      else ($7::bytea[])[b.header_offset + 1 : b.header_offset + 2 * b.header_count] end,
    substring($4::bytea from b.body_offset + 1 for b.body_length),
    b.size
  from upd u, batch b, clock c
  returning seq_num, timestamp
),
${outcome(schema, '(select array_agg(i.timestamp order by i.seq_num) from ins i where i.seq_num - u.start + 1 = any($17::int[]))')}`;
}

/** The batch statement's parameters; `marks` are the 1-based positions whose timestamps come back. */
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

/**
 * The append of a single record (most appends, and every fence and trim): the same steps as
 * {@link appendStatement} without the batch machinery (no arrays to unnest, no window), which makes it
 * markedly cheaper. The record's timestamp is the stream's new last timestamp.
 *
 * Parameters: see {@link appendOneParameters}.
 */
export function appendOneStatement(schema: string): string {
  const streams = qualified(schema, 'streams');
  const records = qualified(schema, 'records');
  const ts = qualified(schema, 'record_timestamp');
  return `
with upd as (
  update ${streams} s set
    next_seq = s.next_seq + 1,
    last_ts = greatest(s.last_ts,
      ${ts}(s.ts_mode, s.ts_uncapped, $5::bigint, (extract(epoch from clock_timestamp()) * 1000)::bigint)),
    fencing_token = coalesce($8::text, s.fencing_token),
    -- least() ignores nulls: a record that is not a trim leaves the trim point alone.
    trim_point = case when $9::bigint is null then s.trim_point
      else greatest(s.trim_point, least($9::bigint, s.next_seq + 1)) end
  ${conditions({ token: 7, match: 6, missing: 10 })}
  returning s.id, s.next_seq - 1 as start, s.next_seq, s.last_ts, ${notify(schema)}
),
ins as (
  insert into ${records} (stream_id, seq_num, timestamp, headers, body, size)
  select u.id, u.start, u.last_ts, $4::bytea[], $3::bytea, $11::int from upd u
),
${outcome(schema, 'array[u.last_ts]')}`;
}

/** The single-record statement's parameters. */
export function appendOneParameters(
  basin: string,
  stream: string,
  batch: EncodedBatch,
  options: { matchSeqNum?: number | undefined; fencingToken?: string | undefined },
): unknown[] {
  return [
    basin,
    stream,
    batch.body,
    batch.headers.length === 0 ? null : batch.headers,
    batch.timestamps[0],
    options.matchSeqNum ?? null,
    options.fencingToken ?? null,
    batch.newToken,
    batch.trimTargets[0] ?? null,
    batch.missingTimestamp,
    batch.sizes[0],
  ];
}

/**
 * The WHERE of the stream-row update, given the numbers of the parameters: the stream, the token, then
 * matchSeqNum, then a client-require stream refusing a batch with a record without timestamp.
 */
function conditions({ token, match, missing }: { token: number; match: number; missing: number }): string {
  return `where s.basin = $1 and s.name = $2
    and ($${token}::text is null or s.fencing_token = $${token}::text)
    and ($${match}::bigint is null or s.next_seq = $${match}::bigint)
    and (not $${missing}::boolean or s.ts_mode <> 1)`;
}

/** A RETURNING column that NOTIFYs when a follower in another process watches the stream. */
function notify(schema: string): string {
  return `case when s.watched_until > clock_timestamp()
      then pg_notify('${notifyChannel(schema)}', s.id::text)::text end as notified`;
}

/** The locking read when nothing matched, and the result rows, shared by both statements. */
function outcome(schema: string, marks: string): string {
  return `cur as (
  select s.next_seq, s.last_ts, s.fencing_token, s.ts_mode
  from ${qualified(schema, 'streams')} s
  where s.basin = $1 and s.name = $2 and not exists (select 1 from upd)
  for share
)
select true as ok, u.start, u.next_seq, u.last_ts, null::text as fencing_token, null::smallint as ts_mode,
  ${marks} as marks
from upd u
union all
select false, null, c.next_seq, c.last_ts, c.fencing_token, c.ts_mode, null
from cur c`;
}
