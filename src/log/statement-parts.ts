import { qualified } from '../db/schema-name.js';
import { timestampingCode } from './config.js';
import { nameWithSchema } from './statement-name.js';

/**
 * The channel on which appends to watched streams notify followers in other processes: `fencepost_<schema>`,
 * with the schema shortened where that would pass the 63 bytes a channel may have (see nameWithSchema).
 */
export function notifyChannel(schema: string): string {
  return nameWithSchema('fencepost_', schema, '');
}

/*
 * The append path is one statement per append: a conditional UPDATE of the stream row, then the INSERT of the
 * records. The UPDATE takes the row lock and checks the fencing token, then `matchSeqNum`, at once; READ
 * COMMITTED re-checks the conditions on the newest row version after waiting for the lock. It reserves the
 * sequence numbers, moves the timestamp floor, the token and the trim point, and says whether a follower in
 * another process watches the stream (the appending process notifies it after the commit). A key conflict on
 * records is an error, never ignored.
 *
 * When nothing matched, the statement returns no row, and appendEncoded asks `stateStatement` why. Keeping
 * that read out of the append statement keeps the statement small: each plan node costs executor time on
 * every call (measured: about 15% of the append's server CPU for a locking read that never ran).
 */

/** `ts_mode` codes (see config.ts): `client-prefer` 0, `client-require` 1, `arrival` 2. */
export const CLIENT_REQUIRE = timestampingCode('client-require');
const ARRIVAL = timestampingCode('arrival');

/** A record's timestamp before the stream's floor: arrival time (arrival mode or none given), capped unless uncapped. */
export function recordTimestamp(mode: string, uncapped: string, client: string, now: string): string {
  return `case when ${mode} = ${ARRIVAL} or ${client} is null then ${now}
    when ${uncapped} then ${client} else least(${client}, ${now}) end`;
}

/**
 * The SET of the stream row's commit key: the greater of the stream's previous key and this transaction's id
 * (see migrations/0002_global_log.sql). The records of the append are written with the new key, so a
 * stream's keys never decrease and no key is below its own transaction's id.
 */
export const COMMIT_KEY = 'last_key = greatest(s.last_key, pg_current_xact_id())';

/** Milliseconds since the epoch, by the database's clock, not the transaction's start. */
export const NOW_MS = `(date_part('epoch', clock_timestamp()) * 1000)::bigint`;

/**
 * The WHERE of the stream-row update, given the numbers of the parameters: the stream, the token, then
 * matchSeqNum, then a client-require stream refusing a batch with a record without a timestamp.
 */
export function conditions({
  token,
  match,
  missing,
}: {
  token: number;
  match: number;
  missing: number;
}): string {
  return `where s.basin = $1 and s.name = $2
    and ($${token}::text is null or s.fencing_token = $${token}::text)
    and ($${match}::bigint is null or s.next_seq = $${match}::bigint)
    and (not $${missing}::boolean or s.ts_mode <> ${CLIENT_REQUIRE})`;
}

/**
 * The FROM and WHERE that create a missing stream: its basin creates streams on append, and the conditions
 * hold for a new stream (tail 0, token '', and a record without a timestamp only where allowed).
 */
export function creatable(
  schema: string,
  { token, match, missing }: { token: number; match: number; missing: number },
): string {
  return `from ${qualified(schema, 'basins')} b
  where b.name = $1 and b.create_stream_on_append
    and ($${token}::text is null or $${token}::text = '')
    and ($${match}::bigint is null or $${match}::bigint = 0)
    and (not $${missing}::boolean or b.ts_mode <> ${CLIENT_REQUIRE})`;
}

/** A new stream's config: its basin's default stream config. */
export const defaultConfig = `coalesce(b.config -> 'defaultStreamConfig', '{}'::jsonb)`;

/**
 * RETURNING columns: `stream_id`, and `watched`, whether a follower in another process has marked the stream
 * row watched (`streams.watched_until`; see src/log/watcher.ts). The appending process then notifies after
 * the commit (see notifier.ts); a NOTIFY in the append's own transaction would serialize the commits of every
 * notifying append. Marks of whole basins are not looked up here (see basin-marks.ts). A creating append
 * passes `created`: a new stream has no mark yet.
 */
export function written({ created = false } = {}): string {
  return `s.id as stream_id, ${created ? 'false' : 'coalesce(s.watched_until > clock_timestamp(), false)'} as watched`;
}
