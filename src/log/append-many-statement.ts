import { qualified } from '../db/schema-name.js';
import { appendOneStatement } from './append-one-statement.js';
import type { Head } from './log-context.js';
import { CLIENT_REQUIRE, COMMIT_KEY, defaultConfig, NOW_MS, written } from './statement-parts.js';

/** The streams of the append, one row per item: `first` is the 0-based index of its first record. */
const INPUT = `  select i.basin, i.name, i.match, i.token, i.count, i.ord::int as ord,
    (sum(i.count) over (order by i.ord) - i.count)::int as first
  from unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::int[])
    with ordinality as i(basin, name, match, token, count, ord)`;

/*
 * The append to several streams, in one statement. Its first step locks every stream row the append names,
 * in one fixed order (basin, then name: `ORDER BY` runs below `FOR UPDATE`, so the rows are locked in that
 * order), so two such appends wait for each other instead of deadlocking. READ COMMITTED gives the locking
 * read the newest version of a row it waited for, so each stream's conditions (token first, then
 * matchSeqNum) are evaluated under its lock. Only if every stream is there and every condition holds are
 * the stream rows updated and the records inserted; otherwise the statement writes nothing and returns the
 * streams' current state, from which the caller names the failure.
 *
 * The commit key rule (migrations/0002_global_log.sql) holds as in the single-stream statements: each
 * stream row's key becomes the greater of its previous key and this transaction's id, set under the lock,
 * and its records carry that key. This append takes its transaction id at its first lock and may then wait
 * for the others, which is the case the rule exists for.
 *
 * A stream given no records (count 0) is locked and its conditions are checked like the others, but its row
 * is not updated and nothing is inserted into it: a condition on a stream the append depends on.
 *
 * With a command id (`$16`), one `commands` row per stream is inserted in the same statement, an empty range
 * at the tail for a stream given no records; a second append with that id to any of the streams fails on the
 * key (23505) and so writes nothing.
 *
 * Parameters, one element per stream in the caller's order: $1 basins, $2 names, $3 matchSeqNums, $4 fencing
 * tokens, $5 record counts. Per record, grouped by stream in the same order: $6 stream ordinals (1-based),
 * $7 body offsets, $8 body lengths, $9 header offsets, $10 header counts, $11 metered sizes, $12 UTF-8
 * flags; $13 the bodies, $14 headers as text or $15 as bytes (flattened name, value pairs); $16 the command
 * id or null; $17 where each record ends in its stream's part of the append, in metered bytes (see
 * migrations/0006_record_offsets.sql). Rows: one per existing stream named, with `start`, `next_seq` and
 * `last_ts` null when nothing was written (a stream given no records: its unchanged tail).
 */
export function appendManyStatement(schema: string): string {
  const streams = qualified(schema, 'streams');
  return `
with input as (${INPUT}),
locked as materialized (
  select s.id, i.ord, i.count, i.first, s.next_seq, s.last_ts, s.fencing_token, s.ts_mode,
    (i.token is null or s.fencing_token = i.token) and (i.match is null or s.next_seq = i.match)
      and (s.ts_mode <> ${CLIENT_REQUIRE} or i.count = 0) as ok
  from ${streams} s join input i on s.basin = i.basin and s.name = i.name
  order by s.basin, s.name
  for update of s
),
go as (
  select count(*) = cardinality($1::text[]) and coalesce(bool_and(l.ok), false) as ok from locked l
),
upd as (
  update ${streams} s set
    next_seq = s.next_seq + l.count,
    bytes = s.bytes + ($17::int[])[l.first + l.count],
    ${COMMIT_KEY},
    prev_last_ts = s.last_ts,
    last_ts = greatest(s.last_ts, ${NOW_MS})
  from locked l, go g
  where s.id = l.id and g.ok and l.count > 0
  returning s.id, l.ord, l.first, s.next_seq - l.count as start, s.next_seq, s.last_ts, s.last_key,
    s.bytes - ($17::int[])[l.first + l.count] as base_bytes, ${written()}
),
${insertRecords(schema)},
cmd as (
  insert into ${qualified(schema, 'commands')} (stream_id, command_id, start_seq, end_seq)
  select l.id, $16::text, coalesce(u.start, l.next_seq), coalesce(u.next_seq, l.next_seq)
  from locked l join go g on g.ok left join upd u on u.id = l.id
  where $16::text is not null
)
select l.ord, l.next_seq as current_seq, l.fencing_token, l.ts_mode,
  case when g.ok then coalesce(u.start, l.next_seq) end as start,
  case when g.ok then coalesce(u.next_seq, l.next_seq) end as next_seq,
  case when g.ok then coalesce(u.last_ts, l.last_ts) end as last_ts,
  u.stream_id, u.watched
from locked l cross join go g left join upd u on u.id = l.id`;
}

/**
 * The append of one record to one stream with a command id (`$14`, or null): the single-record append of
 * the log (see append-one-statement.ts; scalars, not arrays, and the smallest plan) with the command's row
 * inserted by the same statement. Parameters: `appendOneParameters` and the command id.
 */
export function appendOneCommandStatement(schema: string, head: Head): string {
  return appendOneStatement(
    schema,
    head,
    `,
cmd as (
  insert into ${qualified(schema, 'commands')} (stream_id, command_id, start_seq, end_seq)
  select u.id, $14::text, u.start, u.start + 1 from upd u where $14::text is not null
)`,
  );
}

/**
 * The append of {@link appendManyStatement} when it names one stream: a conditional UPDATE of the stream row
 * (which locks the one row and checks the conditions at once, as the single-stream append does) and the
 * inserts, without the ordered locking step and its plan nodes, which one row does not need. Parameters as
 * {@link appendManyStatement}; rows: one when written, none when a condition failed or the stream is missing.
 */
export function appendManyOneStatement(schema: string): string {
  return `
with upd as (
  update ${qualified(schema, 'streams')} s set
    next_seq = s.next_seq + ($5::int[])[1],
    bytes = s.bytes + ($17::int[])[($5::int[])[1]],
    ${COMMIT_KEY},
    prev_last_ts = s.last_ts,
    last_ts = greatest(s.last_ts, ${NOW_MS})
  where s.basin = ($1::text[])[1] and s.name = ($2::text[])[1]
    and (($4::text[])[1] is null or s.fencing_token = ($4::text[])[1])
    and (($3::bigint[])[1] is null or s.next_seq = ($3::bigint[])[1])
    and s.ts_mode <> ${CLIENT_REQUIRE}
  returning s.id, 1 as ord, 0 as first, s.next_seq - ($5::int[])[1] as start, s.next_seq, s.last_ts,
    s.last_key, s.bytes - ($17::int[])[($5::int[])[1]] as base_bytes, ${written()}
),
${recordsAndCommand(schema)}
select u.ord, 0::bigint as current_seq, '' as fencing_token, 0::smallint as ts_mode, u.start, u.next_seq,
  u.last_ts, u.stream_id, u.watched
from upd u`;
}

/**
 * The append to several streams none of which exists yet (every item expects an empty stream): the streams
 * are inserted with their records in one statement, in (basin, name) order, only if every one's basin
 * creates streams on append and every one's conditions hold for a new stream. There is no ON CONFLICT: a
 * stream created meanwhile fails the statement on the key (23505 on streams), which writes nothing, and the
 * caller appends to the existing streams instead. Parameters as {@link appendManyStatement}; rows: one per
 * stream, or none when a stream cannot be created here.
 */
export function appendManyCreateStatement(schema: string): string {
  const basins = qualified(schema, 'basins');
  const creatable = `b.create_stream_on_append and (i.token is null or i.token = '') and (i.match is null or i.match = 0)
      and b.ts_mode <> ${CLIENT_REQUIRE}`;
  return `
with input as (${INPUT}),
upd as (
  insert into ${qualified(schema, 'streams')} as s
    (basin, name, next_seq, bytes, last_key, last_ts, fencing_token, trim_point, ts_mode, ts_uncapped, config)
  select i.basin, i.name, i.count, ($17::int[])[i.first + i.count], pg_current_xact_id(), ${NOW_MS}, '', 0, b.ts_mode, b.ts_uncapped, ${defaultConfig}
  from input i join ${basins} b on b.name = i.basin
  where ${creatable}
    and (select count(*) from input i join ${basins} b on b.name = i.basin where ${creatable}) = cardinality($1::text[])
  order by i.basin, i.name
  returning s.id, (select i.ord from input i where i.basin = s.basin and i.name = s.name) as ord,
    (select i.first from input i where i.basin = s.basin and i.name = s.name) as first,
    0::bigint as start, s.next_seq, s.last_ts, s.last_key, 0::bigint as base_bytes,
    ${written({ created: true })}
),
${recordsAndCommand(schema)}
select u.ord, 0::bigint as current_seq, '' as fencing_token, 0::smallint as ts_mode, u.start,
  u.next_seq, u.last_ts, u.stream_id, u.watched
from upd u`;
}

/** The records' inserts and the command row, from the stream rows written (`upd`). */
function recordsAndCommand(schema: string): string {
  return `${insertRecords(schema)},
cmd as (
  insert into ${qualified(schema, 'commands')} (stream_id, command_id, start_seq, end_seq)
  select u.id, $16::text, u.start, u.next_seq from upd u where $16::text is not null
)`;
}

/** The records' inserts, from the stream rows written (`upd`). */
function insertRecords(schema: string): string {
  return `batch as (
  select b.ord::int as ord, b.stream_ord, b.body_offset, b.body_length, b.header_offset, b.header_count,
    b.size, b.utf8, b.end_bytes
  from unnest($6::int[], $7::int[], $8::int[], $9::int[], $10::int[], $11::int[], $12::boolean[], $17::int[])
    with ordinality as b(stream_ord, body_offset, body_length, header_offset, header_count, size, utf8, end_bytes, ord)
),
ins as (
  insert into ${qualified(schema, 'records')}
    (stream_id, seq_num, timestamp, headers, headers_text, body, size, body_utf8, commit_key, span, end_bytes)
  select u.id, u.start + b.ord - u.first - 1, u.last_ts,
    case when b.header_count > 0 then ($15::bytea[])[b.header_offset + 1 : b.header_offset + 2 * b.header_count] end,
    case when b.header_count > 0 then ($14::text[])[b.header_offset + 1 : b.header_offset + 2 * b.header_count] end,
    substring($13::bytea from b.body_offset + 1 for b.body_length),
    b.size,
    b.utf8,
    u.last_key,
    case when b.ord = u.first + 1 then u.next_seq - u.start end,
    u.base_bytes + b.end_bytes
  from upd u join batch b on b.stream_ord = u.ord
)`;
}

/**
 * Creates the missing streams of an append to several streams whose basins create streams on append, in
 * (basin, name) order; `$1` basins, `$2` names. Rows: the basins named, with whether they create streams.
 */
export function createStreamsStatement(schema: string): string {
  return `
with bas as (
  select b.name, b.create_stream_on_append, b.ts_mode, b.ts_uncapped, b.config
  from ${qualified(schema, 'basins')} b where b.name = any($1::text[])
),
created as (
  insert into ${qualified(schema, 'streams')} (basin, name, ts_mode, ts_uncapped, config)
  select i.basin, i.name, b.ts_mode, b.ts_uncapped, ${defaultConfig}
  from unnest($1::text[], $2::text[]) as i(basin, name) join bas b on b.name = i.basin and b.create_stream_on_append
  order by i.basin, i.name
  on conflict (basin, name) do nothing
)
select name, create_stream_on_append from bas`;
}

/** The recorded ranges of a command id on streams: `$1` the id, `$2` basins, `$3` names. */
export function lookupCommandStatement(schema: string): string {
  return `
select s.basin, s.name, c.start_seq, c.end_seq
from unnest($2::text[], $3::text[]) as i(basin, name)
join ${qualified(schema, 'streams')} s on s.basin = i.basin and s.name = i.name
join ${qualified(schema, 'commands')} c on c.stream_id = s.id and c.command_id = $1::text`;
}
