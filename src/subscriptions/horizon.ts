import { qualified } from '../db/schema-name.js';
import type { LogContext, Statement } from '../log/log-context.js';
import { runQuery } from '../log/run-query.js';
import { statementName } from '../log/statement-name.js';
import { appendStream } from './records-after.js';
import type { HorizonHolder, HorizonReport, StallReport } from './types.js';

/** Waiting records are counted in up to this many appends. */
const COUNT_LIMIT = 10_000;

interface HolderRow {
  horizon: string;
  pid: number | null;
  state: string | null;
  datname: string | null;
  application_name: string | null;
  xact_start: Date | null;
  age_ms: number | null;
  query: string | null;
  gid: string | null;
  prepared: Date | null;
}

/**
 * The cluster's commit horizon and who holds it: the backend whose `backend_xid` is the horizon (any
 * database: transaction ids are cluster-wide), or a prepared transaction. Global reads deliver only records
 * below the horizon, so a long or idle-in-transaction writer anywhere holds every follower back.
 *
 * @throws StorageError.
 */
export async function horizonReport(context: LogContext): Promise<HorizonReport> {
  const [row] = await runQuery<HolderRow>(
    context.pool,
    {
      name: statementName(context.schema, 'horizon'),
      text: `
with h as (select pg_snapshot_xmin(pg_current_snapshot()) as horizon)
select h.horizon::text as horizon, a.pid, a.state, a.datname::text, a.application_name, a.xact_start,
  (extract(epoch from clock_timestamp() - coalesce(a.xact_start, p.prepared)) * 1000)::bigint as age_ms,
  a.query, p.gid, p.prepared
from h
left join pg_stat_activity a on a.backend_xid = h.horizon::xid
left join pg_prepared_xacts p on p.transaction = h.horizon::xid
limit 1`,
      values: [],
    },
    'read',
  );
  return { horizon: row!.horizon, heldBy: holder(row!) };
}

function holder(row: HolderRow): HorizonHolder | null {
  if (row.pid !== null) {
    return {
      pid: row.pid,
      state: row.state,
      database: row.datname,
      applicationName: row.application_name,
      xactStart: row.xact_start,
      ageMs: row.age_ms,
      query: row.query,
    };
  }
  if (row.gid !== null) {
    return {
      pid: null,
      state: 'prepared',
      database: null,
      applicationName: null,
      xactStart: row.prepared,
      ageMs: row.age_ms,
      query: `prepared transaction ${row.gid}`,
    };
  }
  return null;
}

/**
 * What holds a basin's followers back: the horizon report, plus the committed records of the basin waiting
 * at or above the horizon (counted in up to 10,000 appends) and the age of the oldest of them.
 *
 * @throws StorageError.
 */
export async function stallReport(context: LogContext, basin: string): Promise<StallReport> {
  const [waiting] = await runQuery<{ horizon: string; n: number; oldest: number | null }>(
    context.pool,
    { ...waitingStatement(context.schema), values: [basin] },
    'read',
  );
  const report = await horizonReport(context);
  const oldest = waiting!.oldest;
  return {
    ...report,
    basin,
    waitingRecords: waiting!.n,
    lagMs: oldest === null ? 0 : Math.max(0, Date.now() - oldest),
  };
}

/**
 * The count of {@link stallReport}: `$1` the basin. Ordered by the global index, so that its generic plan
 * walks that index from the horizon: without the order, the limit made the planner scan the whole records
 * table instead (450 ms on 1.9 million records, with nothing waiting). Internal.
 */
export function waitingStatement(schema: string): Statement {
  return {
    name: statementName(schema, 'waiting', 4),
    text: `
with h as (select pg_snapshot_xmin(pg_current_snapshot()) as horizon)
select (select horizon from h)::text as horizon, coalesce(sum(w.span), 0)::bigint as n,
  min(w.timestamp) as oldest from (
  select f.span, f.timestamp from ${qualified(schema, 'records')} f ${appendStream(schema)}
  where f.span is not null and f.commit_key >= (select horizon from h) and s.basin = $1
  order by f.commit_key
  limit ${COUNT_LIMIT}) w`,
  };
}

/** The log line a stalled follower writes when it was given no `onStalled`. */
export function describeStall(report: StallReport): string {
  const who = report.heldBy;
  const holderText = who
    ? `held by ${who.pid === null ? 'a prepared transaction' : `pid ${who.pid}`} (${who.state ?? 'unknown state'}, ` +
      `open ${who.ageMs ?? '?'} ms, application ${JSON.stringify(who.applicationName ?? '')}, ` +
      `query ${JSON.stringify((who.query ?? '').slice(0, 200))})`
    : 'held by a transaction that has ended since';
  return (
    `fencepost: global log of basin ${JSON.stringify(report.basin)} stalled at horizon ${report.horizon}, ` +
    `${holderText}; ${report.waitingRecords} committed record(s) waiting, the oldest ${report.lagMs} ms old`
  );
}
