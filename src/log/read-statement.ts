import { qualified } from '../db/schema-name.js';

/**
 * A read, as one statement: the stream row (the one row with a `start`: `seq_num` is the tail, `timestamp` the
 * last timestamp, `start` where the read starts), then up to `$5` records from the start, in seqNum order,
 * never below the trim point. The start is `$3` (a seqNum), else the tail minus `$4` (a tail offset), else the
 * tail. The page is bounded by seqNum too (`start + $5`): seqNums have no gaps above the trim point, and
 * without the bound a generic plan can read and sort the whole rest of the stream for every page. The `until`
 * (`$7`, exclusive timestamp) and `bytes` (`$6`, metered; the first record always counts) bounds apply to the
 * limited rows. With `$8` (strings wanted), a body of valid UTF-8 without NUL comes as `text`, converted by the
 * server, and `body` is null: half the bytes of hex on the wire, and nothing to decode. Each record's metered
 * `size` comes only when asked for (`$9`).
 *
 * The bytes of records `start..r` are `r.end_bytes - base`, where `base` is where the start record begins
 * (migrations/0006_record_offsets.sql): one probe of the start record, then a subtraction per record, where a
 * running sum over the page was half of the statement's executor time.
 */
export function readStatement(schema: string): string {
  const streams = qualified(schema, 'streams');
  const records = qualified(schema, 'records');
  return `
with s as (
  select id, next_seq, last_ts,
    greatest(trim_point, coalesce($3::bigint, s.next_seq - $4::bigint, s.next_seq), 0) as start
  from ${streams} s where basin = $1 and name = $2
),
b as (
  select s.*, (select r.end_bytes - r.size from ${records} r where r.stream_id = s.id and r.seq_num = s.start)
    as base
  from s
)
select b.next_seq as seq_num, b.last_ts as timestamp, null::bytea[] as headers,
  null::text[] as headers_text, null::bytea as body, null::text as text, b.start, null::int as size
from b
union all
select p.seq_num, p.timestamp, p.headers, p.headers_text,
  case when $8::boolean and p.body_utf8 then null else p.body end,
  case when $8::boolean and p.body_utf8 then convert_from(p.body, 'UTF8') end,
  null, case when $9::boolean then p.size end
from b cross join lateral (
  select r.seq_num, r.timestamp, r.headers, r.headers_text, r.body, r.body_utf8, r.size, r.end_bytes
  from ${records} r
  where r.stream_id = b.id and r.seq_num >= b.start and r.seq_num < b.start + $5::bigint
  order by r.seq_num
  limit $5
) p
where ($7::bigint is null or p.timestamp < $7::bigint) and (p.end_bytes - b.base <= $6::bigint or p.seq_num = b.start)`;
}

/**
 * The first seqNum at or after the trim point whose timestamp is at least `$3`, or the tail: a binary search
 * over seqNums (timestamps are monotonic per stream), so it probes the primary key about log2(n) times and
 * needs no index on timestamps. Returns no row when the stream does not exist.
 */
export function seekTimestampStatement(schema: string): string {
  const streams = qualified(schema, 'streams');
  const records = qualified(schema, 'records');
  return `
with recursive s as (
  select id, trim_point, next_seq from ${streams} where basin = $1 and name = $2
),
search (lo, hi) as (
  select trim_point, next_seq from s
  union all
  select case when r.timestamp >= $3::bigint then search.lo else m.mid + 1 end,
         case when r.timestamp >= $3::bigint then m.mid else search.hi end
  from search
  cross join lateral (select (search.lo + search.hi) / 2 as mid) m
  join ${records} r on r.stream_id = (select id from s) and r.seq_num = m.mid
  where search.lo < search.hi
)
select min(lo) as seq_num from search where lo >= hi`;
}
