import { qualified } from '../db/schema-name.js';
import { creatable, defaultConfig } from './statement-parts.js';

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
  select create_stream_on_append, ts_mode from ${qualified(schema, 'basins')} where name = $1
),
cur as (
  select s.next_seq, s.last_ts, s.fencing_token, s.ts_mode from ${streams} s where s.basin = $1 and s.name = $2
),
created as (
  insert into ${streams} (basin, name, ts_mode, ts_uncapped, config)
  select $1, $2, b.ts_mode, b.ts_uncapped, ${defaultConfig}
  ${creatable(schema, { token: 4, match: 3, missing: 5 })}
    and not exists (select 1 from cur)
  on conflict (basin, name) do nothing
  returning next_seq, last_ts, fencing_token, ts_mode
)
select b.create_stream_on_append, b.ts_mode as basin_ts_mode,
  coalesce(c.next_seq, n.next_seq) as next_seq, coalesce(c.last_ts, n.last_ts) as last_ts,
  coalesce(c.fencing_token, n.fencing_token) as fencing_token, coalesce(c.ts_mode, n.ts_mode) as ts_mode
from bas b left join cur c on true left join created n on true`;
}
