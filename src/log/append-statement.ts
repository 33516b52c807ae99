import { qualified } from '../db/schema-name.js';
import type { EncodedBatch } from './encode-batch.js';
import type { AppendOptions } from './types.js';

/** The channel on which appends to watched streams notify followers in other processes. */
export function notifyChannel(schema: string): string {
  return `fencepost_${schema}`;
}

/*
 * The append path is one statement per append: a conditional UPDATE of the stream row, then the INSERT of the
 * records. The UPDATE takes the row lock and checks the fencing token, then `matchSeqNum`, at once; READ
 * COMMITTED re-checks the conditions on the newest row version after waiting for the lock. It reserves the
 * sequence numbers, moves the timestamp floor, the token and the trim point, and NOTIFYs followers in other
 * processes when one watches the stream. A key conflict on records is an error, never ignored.
 *
 * When nothing matched, the statement returns no row, and appendEncoded asks `stateStatement` why. Keeping
 * that read out of the append statement keeps the statement small: each plan node costs executor time on
 * every call (measured: about 15% of the append's server CPU for a locking read that never ran).
 */

/** A record's timestamp before the stream's floor: arrival time (mode 2 or none given), capped unless uncapped. */
function recordTimestamp(mode: string, uncapped: string, client: string, now: string): string {
  return `case when ${mode} = 2 or ${client} is null then ${now}
    when ${uncapped} then ${client} else least(${client}, ${now}) end`;
}

/** Milliseconds since the epoch, by the database's clock, not the transaction's start. */
const NOW_MS = `(date_part('epoch', clock_timestamp()) * 1000)::bigint`;

/**
 * The WHERE of the stream-row update, given the numbers of the parameters: the stream, the token, then
 * matchSeqNum, then a client-require stream refusing a batch with a record without a timestamp.
 */
function conditions({ token, match, missing }: { token: number; match: number; missing: number }): string {
  return `where s.basin = $1 and s.name = $2
    and ($${token}::text is null or s.fencing_token = $${token}::text)
    and ($${match}::bigint is null or s.next_seq = $${match}::bigint)
    and (not $${missing}::boolean or s.ts_mode <> 1)`;
}

/**
 * The FROM and WHERE that create a missing stream: its basin creates streams on append, and the conditions
 * hold for a new stream (tail 0, token '', and a record without a timestamp only where allowed).
 */
function creatable(
  schema: string,
  { token, match, missing }: { token: number; match: number; missing: number },
): string {
  return `from ${qualified(schema, 'basins')} b
  where b.name = $1 and b.create_stream_on_append
    and ($${token}::text is null or $${token}::text = '')
    and ($${match}::bigint is null or $${match}::bigint = 0)
    and (not $${missing}::boolean or b.ts_mode <> 1)`;
}

/** A new stream's config: its basin's default stream config. */
const defaultConfig = `coalesce(b.config -> 'defaultStreamConfig', '{}'::jsonb)`;

/** A RETURNING column that NOTIFYs when a follower in another process watches the stream. */
function notify(schema: string): string {
  return `case when s.watched_until > clock_timestamp()
      then pg_notify('${notifyChannel(schema)}', s.id::text)::text end as notified`;
}

/**
 * The append of one record (most appends, and every fence and trim). Its row: the record's `seq_num` and
 * `timestamp` (the stream's new last timestamp); none when a condition failed or the stream is missing.
 * Parameters: see {@link appendOneParameters}.
 */
export function appendOneStatement(schema: string, head: 'update' | 'create' = 'update'): string {
  return `
with upd as (${head === 'update' ? updateOne(schema) : createOne(schema)})
insert into ${qualified(schema, 'records')}
  (stream_id, seq_num, timestamp, headers, headers_text, body, size, body_utf8)
select u.id, u.start, u.last_ts, $4::bytea[], $13::text[], $3::bytea, $11::int, $12::boolean from upd u
returning seq_num, timestamp`;
}

function updateOne(schema: string): string {
  return `
  update ${qualified(schema, 'streams')} s set
    next_seq = s.next_seq + 1,
    last_ts = greatest(s.last_ts, ${recordTimestamp('s.ts_mode', 's.ts_uncapped', '$5::bigint', NOW_MS)}),
    fencing_token = coalesce($8::text, s.fencing_token),
    -- least() ignores nulls: a record that is not a trim leaves the trim point alone.
    trim_point = case when $9::bigint is null then s.trim_point
      else greatest(s.trim_point, least($9::bigint, s.next_seq + 1)) end
  ${conditions({ token: 7, match: 6, missing: 10 })}
  returning s.id, s.next_seq - 1 as start, s.last_ts, ${notify(schema)}`;
}

function createOne(schema: string): string {
  return `
  insert into ${qualified(schema, 'streams')} as s
    (basin, name, next_seq, last_ts, fencing_token, trim_point, ts_mode, ts_uncapped, config)
  select $1, $2, 1, ${recordTimestamp('b.ts_mode', 'b.ts_uncapped', '$5::bigint', NOW_MS)}, coalesce($8::text, ''),
    case when $9::bigint is null then 0 else least($9::bigint, 1) end, b.ts_mode, b.ts_uncapped, ${defaultConfig}
  ${creatable(schema, { token: 7, match: 6, missing: 10 })}
  on conflict (basin, name) do nothing
  returning s.id, 0::bigint as start, s.last_ts`;
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
    batch.headers.length === 0 || batch.headerText ? null : batch.headers,
    batch.timestamps[0],
    options.matchSeqNum ?? null,
    options.fencingToken ?? null,
    batch.newToken,
    batch.trimTargets[0] ?? null,
    batch.missingTimestamp,
    batch.sizes[0],
    batch.utf8[0],
    batch.headers.length === 0 ? null : batch.headerText,
  ];
}

/**
 * How a batch's timestamps are made. `arrival`: no record has a client timestamp, so every record gets the
 * same one, the database's clock raised to the stream's last timestamp (the stream's new last timestamp).
 * `client`: each record's timestamp is the running maximum of the batch's timestamps, raised to the stream's
 * last one before the batch (a window over the batch, and the timestamps at `$20` returned).
 */
export type Stamping = 'arrival' | 'client';

/**
 * The append of a batch. Its row: the start, the tail, and the timestamps at the 1-based positions `$20`
 * (`client` stamping only); none when a condition failed or the stream is missing.
 * Parameters: see {@link appendParameters}.
 */
export function appendStatement(schema: string, head: 'update' | 'create', stamping: Stamping): string {
  const client = stamping === 'client';
  const timestamp = client
    ? `greatest(u.prev_last_ts,
      max(${recordTimestamp('u.ts_mode', 'u.ts_uncapped', 'b.client_ts', 'c.now_ms')}) over (order by b.ord))`
    : 'u.last_ts';
  return `
with ${client ? `clock as (select ${NOW_MS} as now_ms),` : ''}
batch as (
  select b.ord::int as ord, b.client_ts, b.body_offset, b.body_length, b.header_offset, b.header_count, b.size,
    b.utf8
  from unnest($10::bigint[], $5::int[], $6::int[], $8::int[], $9::int[], $17::int[], $18::boolean[])
    with ordinality as b(client_ts, body_offset, body_length, header_offset, header_count, size, utf8, ord)
),
upd as (${head === 'update' ? updateMany(schema, stamping) : createMany(schema, stamping)}),
ins as (
  insert into ${qualified(schema, 'records')}
    (stream_id, seq_num, timestamp, headers, headers_text, body, size, body_utf8)
  select u.id, u.start + b.ord - 1, ${timestamp},
    case when b.header_count > 0 then ($7::bytea[])[b.header_offset + 1 : b.header_offset + 2 * b.header_count] end,
    case when b.header_count > 0 then ($19::text[])[b.header_offset + 1 : b.header_offset + 2 * b.header_count] end,
    substring($4::bytea from b.body_offset + 1 for b.body_length),
    b.size,
    b.utf8
  from upd u, batch b${client ? ', clock c' : ''}
  ${client ? 'returning seq_num, timestamp' : ''}
)
select u.start, u.next_seq, u.last_ts, ${
    client
      ? '(select array_agg(i.timestamp order by i.seq_num) from ins i where i.seq_num - u.start + 1 = any($20::int[]))'
      : 'null::bigint[]'
  } as marks
from upd u`;
}

/** The batch statement's parameters; `marks` (for `client` stamping) are positions whose timestamps come back. */
export function appendParameters(
  basin: string,
  stream: string,
  batch: EncodedBatch,
  options: AppendOptions,
  marks?: readonly number[],
): unknown[] {
  const values: unknown[] = [
    basin,
    stream,
    batch.count,
    batch.body,
    batch.bodyOffsets,
    batch.bodyLengths,
    batch.headerText ? null : batch.headers,
    batch.headerOffsets,
    batch.headerCounts,
    batch.timestamps,
    options.matchSeqNum ?? null,
    options.fencingToken ?? null,
    batch.newToken,
    batch.trimTargets,
    batch.trimPositions,
    batch.missingTimestamp,
    batch.sizes,
    batch.utf8,
    batch.headerText,
  ];
  if (marks) values.push(marks);
  return values;
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
    prev_last_ts = s.last_ts,
    last_ts = greatest(s.last_ts, ${last}),
    fencing_token = coalesce($13::text, s.fencing_token),
    trim_point = greatest(s.trim_point,
      (select max(least(t.target, s.next_seq + t.pos)) from unnest($14::bigint[], $15::int[]) as t(target, pos)))
  ${conditions({ token: 12, match: 11, missing: 16 })}
  returning s.id, s.next_seq - $3 as start, s.next_seq, s.prev_last_ts, s.last_ts, s.ts_mode, s.ts_uncapped,
    ${notify(schema)}`;
}

function createMany(schema: string, stamping: Stamping): string {
  const last =
    stamping === 'client'
      ? `(select max(${recordTimestamp('b.ts_mode', 'b.ts_uncapped', 'x.client_ts', 'c.now_ms')}) from batch x, clock c)`
      : NOW_MS;
  return `
  insert into ${qualified(schema, 'streams')} as s
    (basin, name, next_seq, last_ts, fencing_token, trim_point, ts_mode, ts_uncapped, config)
  select $1, $2, $3, ${last}, coalesce($13::text, ''),
    coalesce((select max(least(t.target, t.pos)) from unnest($14::bigint[], $15::int[]) as t(target, pos)), 0),
    b.ts_mode, b.ts_uncapped, ${defaultConfig}
  ${creatable(schema, { token: 12, match: 11, missing: 16 })}
  on conflict (basin, name) do nothing
  returning s.id, 0::bigint as start, s.next_seq, s.prev_last_ts, s.last_ts, s.ts_mode, s.ts_uncapped,
    null::text as notified`;
}

/**
 * Why an append matched nothing: the basin (missing: no row), whether it creates streams on append, and the
 * stream's current state (nulls when it is missing). It runs after the append statement returned, so it
 * sees every append committed before that one failed: the tail it reports is the true one. When the stream
 * is missing, the basin creates streams on append, and the conditions (`$3` matchSeqNum, `$4` token, `$5` a
 * record without timestamp) hold for a new stream, it creates the stream, so the append can run again.
 */
export function stateStatement(schema: string): string {
  const streams = qualified(schema, 'streams');
  return `
with bas as (
  select name, create_stream_on_append, ts_mode, ts_uncapped, config from ${qualified(schema, 'basins')} where name = $1
),
cur as (
  select s.next_seq, s.last_ts, s.fencing_token, s.ts_mode from ${streams} s where s.basin = $1 and s.name = $2
),
created as (
  insert into ${streams} (basin, name, ts_mode, ts_uncapped, config)
  select $1, $2, b.ts_mode, b.ts_uncapped, coalesce(b.config -> 'defaultStreamConfig', '{}'::jsonb)
  from bas b
  where b.create_stream_on_append and not exists (select 1 from cur)
    and ($3::bigint is null or $3::bigint = 0) and ($4::text is null or $4::text = '')
    and (not $5::boolean or b.ts_mode <> 1)
  on conflict (basin, name) do nothing
  returning next_seq, last_ts, fencing_token, ts_mode
)
select b.create_stream_on_append, b.ts_mode as basin_ts_mode,
  coalesce(c.next_seq, n.next_seq) as next_seq, coalesce(c.last_ts, n.last_ts) as last_ts,
  coalesce(c.fencing_token, n.fencing_token) as fencing_token, coalesce(c.ts_mode, n.ts_mode) as ts_mode,
  n.next_seq is not null as created
from bas b left join cur c on true left join created n on true`;
}
