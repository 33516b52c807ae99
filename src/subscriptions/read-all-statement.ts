import { qualified } from '../db/schema-name.js';
import type { Statement } from '../log/log-context.js';
import { statementName } from '../log/statement-name.js';
import type { CheckedFilter } from './global-filter.js';
import type { Position } from './cursor.js';
import { recordsAfter } from './records-after.js';

/**
 * The global read, as one statement. Its first row holds the horizon (`pg_snapshot_xmin` of the statement's
 * own snapshot) in `key`, in `seq_num` 1 when some committed record (of any basin) waits at or above the
 * horizon, else 0, and nulls elsewhere; then come up to `$5` records of basin `$4` strictly after the
 * position (`$1`, `$2`, `$3`), in (commit_key, stream_id, seq_num) order, each with its stream's name, and
 * only records whose commit key is below the horizon: every transaction that wrote one of those has ended,
 * and every record committed later has a key at or above it (see migrations/0002_global_log.sql). Records
 * below their stream's trim point are left out, as stream reads leave them out. With `$6` (strings wanted),
 * a body of valid UTF-8 comes as `text`. The filter's parts, when given, are parameters from `$7` on: the
 * statement text differs by which parts are given (so each shape gets a plan of its own), never by their values.
 *
 * The trim point is checked above an `offset 0` fence, on the page's sorted rows. The pending probe is
 * ordered so that it is an index probe, not a scan.
 */
export function readAllStatement(schema: string, filter: CheckedFilter): Statement {
  const records = qualified(schema, 'records');
  const after = recordsAfter(schema, { key: '$1::xid8', streamId: '$2::bigint', seqNum: '$3::bigint' });
  const conditions: string[] = [];
  let next = 7;
  if (filter.streamPrefix !== null) conditions.push(`and starts_with(s.name, $${next++}::text)`);
  if (filter.headerName !== null) {
    const name = `$${next++}::text`;
    const values = `$${next++}::text[]`;
    conditions.push(`and exists (
      select 1 from generate_series(1, coalesce(cardinality(r.headers_text), cardinality(r.headers), 0), 2) i
      where case when r.headers_text is not null
        then r.headers_text[i] = ${name} and r.headers_text[i + 1] = any(${values})
        else r.headers[i] = convert_to(${name}, 'UTF8')
          and r.headers[i + 1] = any(select convert_to(v, 'UTF8') from unnest(${values}) v) end)`);
  }
  const shape = `${filter.streamPrefix === null ? '' : 'p'}${filter.headerName === null ? '' : 'h'}`;
  return {
    name: statementName(schema, shape ? `read-all-${shape}` : 'read-all'),
    text: `
with h as (select pg_snapshot_xmin(pg_current_snapshot()) as horizon)
select h.horizon::text as key, null::bigint as stream_id,
  (select count(*) from (select from ${records} w where w.span is not null
    and w.commit_key >= (select horizon from h) order by w.commit_key limit 1) p) as seq_num,
  null::text as stream,
  null::bigint as timestamp, null::bytea[] as headers, null::text[] as headers_text, null::bytea as body,
  null::text as text
from h
union all
(select x.commit_key::text, x.stream_id, x.seq_num, x.name, x.timestamp, x.headers, x.headers_text,
  case when $6::boolean and x.body_utf8 then null else x.body end,
  case when $6::boolean and x.body_utf8 then convert_from(x.body, 'UTF8') end
from (
  select f.commit_key, f.stream_id, r.seq_num, r.timestamp, r.headers, r.headers_text, r.body, r.body_utf8,
    s.name, s.trim_point
  from ${after.from}
  where ${after.where}
    and f.commit_key < (select horizon from h)
    and s.basin = $4::text
    ${conditions.join('\n    ')}
  order by f.commit_key, f.stream_id, r.seq_num
  offset 0) x
where x.seq_num >= x.trim_point
limit $5::int)`,
  };
}

/** The global read's parameters, in the order {@link readAllStatement} numbers them. */
export function readAllParameters(
  basin: string,
  after: Position,
  limit: number,
  strings: boolean,
  filter: CheckedFilter,
): unknown[] {
  const values: unknown[] = [after.key, after.streamId, after.seqNum, basin, limit, strings];
  if (filter.streamPrefix !== null) values.push(filter.streamPrefix);
  if (filter.headerName !== null) values.push(filter.headerName, filter.headerValues);
  return values;
}
