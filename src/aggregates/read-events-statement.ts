import { qualified } from '../db/schema-name.js';

/*
 * The read of an aggregate's events, made for loading: only what decoding needs (seqNum, timestamp, header
 * text, body as text), in pages larger than a read session's, and with the aggregate's snapshot in the same
 * round trip. Headers stored as bytes (not written by fencepost's event codec) come as no headers, so such a
 * record fails to decode as having no type; a body that is not UTF-8 comes as null and fails as not JSON.
 *
 * Parameters: $1 basin, $2 stream, $3 start seqNum, $4 snapshot schema version (null: no snapshot), $5 end
 * seqNum (exclusive; null: the tail), $6 page size, $7 the aggregate whose snapshot it is. The first row (only
 * when the stream exists) is the stream's: [next_seq, trim_point, snapshot version, null, snapshot state as
 * JSON text, start, stream id]; the records follow: [seq_num, null, null, headers_text, body, timestamp,
 * null], from the start (the snapshot's version when there is one at or above $3 and at or below $5), at most
 * $6 of them.
 */
export function readEventsStatement(schema: string): string {
  const streams = qualified(schema, 'streams');
  const records = qualified(schema, 'records');
  const snapshots = qualified(schema, 'snapshots');
  return `
with s as (
  select s.id, s.next_seq, s.trim_point from ${streams} s where s.basin = $1 and s.name = $2
),
snap as (
  select sn.version, sn.state from s join ${snapshots} sn on sn.stream_id = s.id
  where $4::int is not null and sn.aggregate = $7::text and sn.schema_version = $4::int
    and sn.version >= $3::bigint
    and sn.version <= coalesce($5::bigint, s.next_seq)
),
st as (
  select s.id, s.next_seq, s.trim_point, n.version as snap_version, n.state::text as snap_state,
    coalesce(n.version, $3::bigint) as start,
    least(coalesce($5::bigint, s.next_seq), s.next_seq) as stop
  from s left join snap n on true
)
select st.next_seq as a, st.trim_point as b, st.snap_version as c, null::text[] as headers,
  st.snap_state as body, st.start as timestamp, st.id
from st
union all
select r.seq_num, null, null, r.headers_text,
  case when r.body_utf8 then convert_from(r.body, 'UTF8') end, r.timestamp, null
from st join lateral (
  select r.seq_num, r.headers_text, r.body, r.body_utf8, r.timestamp from ${records} r
  where r.stream_id = st.id and r.seq_num >= st.start and r.seq_num < least(st.stop, st.start + $6::bigint)
  order by r.seq_num
  limit $6
) r on true`;
}
