import { qualified } from '../db/schema-name.js';
import { boolArray, intArray, textArrays } from './array-literal.js';
import { toBuffer } from './bytes.js';
import type { EncodedBatch } from './encode-batch.js';
import { CLIENT_REQUIRE, COMMIT_KEY, NOW_MS, recordTimestamp, written } from './statement-parts.js';
import type { AppendOptions, Bytes } from './types.js';

/** One single-record append to an existing stream, as the group statement takes it. */
export interface GroupedAppend {
  basin: string;
  stream: string;
  /** One record, not a command record. */
  batch: EncodedBatch;
  options: AppendOptions;
  /** Recorded on the stream with the record, as `appendOneCommandStatement` does; null for none. */
  commandId: string | null;
}

/**
 * The single-record appends of several callers to distinct existing streams, in one statement and one
 * transaction (see append-groups.ts). Unlike `appendMany`, the appends are independent: each is checked
 * against its own stream (fencing token, then matchSeqNum, then a `client-require` stream refusing a record
 * without a timestamp) and written when its own conditions hold, whatever happens to the others.
 *
 * The first step locks the rows of the streams named, skipping rows another transaction holds, and carries
 * each append's parameters along to the update and the inserts. A group never waits for a lock, so neither a
 * busy stream nor a stalled writer holds up the appends to other streams, and two groups never deadlock. An append whose row was skipped, is missing, or fails a condition gets no row;
 * nothing was written for it, and its caller goes on as after the single-record statement matched nothing
 * (appendEncoded: it reads why, and runs on its own if its conditions hold). READ COMMITTED gives the locking
 * read, and then the update, the newest version of a row that changed since the statement's snapshot, so
 * the conditions are checked under the lock. The commit key rule holds as in the single-record statement.
 *
 * Parameters, one element per append: $1 basins, $2 names, $3 matchSeqNums, $4 fencing tokens, $5 client
 * timestamps, $6 whether the record lacks a timestamp, $7 metered sizes, $8 UTF-8 flags, $9 body offsets,
 * $10 body lengths, $11 header counts, $12 offsets in $15, $13 command ids; $14 each append's headers as
 * one text[] literal (`{}` when it has none or they are stored as bytes), $15 the headers stored as bytes,
 * flattened (name, value pairs), $16 the bodies. Rows: `ord` (1-based, in the parameters' order), `seq_num`, `timestamp`, and
 * `stream_id` and `watched` (see `written`), one per append written.
 */
export function appendGroupStatement(schema: string): string {
  const streams = qualified(schema, 'streams');
  return `
with locked as materialized (
  select s.id, i.*
  from unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::boolean[], $7::int[],
    $8::boolean[], $9::int[], $10::int[], $11::int[], $12::int[], $13::text[], $14::text[])
    with ordinality as i(basin, name, match, token, ts, missing, size, utf8, body_offset, body_length,
      header_count, header_offset, command_id, header_text, ord)
  join ${streams} s on s.basin = i.basin and s.name = i.name
  for update of s skip locked
),
upd as (
  update ${streams} s set
    next_seq = s.next_seq + 1,
    bytes = s.bytes + i.size,
    ${COMMIT_KEY},
    last_ts = greatest(s.last_ts, ${recordTimestamp('s.ts_mode', 's.ts_uncapped', 'i.ts', NOW_MS)})
  from locked i
  where s.id = i.id
    and (i.token is null or s.fencing_token = i.token)
    and (i.match is null or s.next_seq = i.match)
    and (not i.missing or s.ts_mode <> ${CLIENT_REQUIRE})
  returning s.id, i.ord, s.next_seq - 1 as start, s.last_ts, s.last_key, s.bytes, i.size, i.utf8,
    i.body_offset, i.body_length, i.header_count, i.header_offset, i.header_text, i.command_id, ${written()}
),
ins as (
  insert into ${qualified(schema, 'records')}
    (stream_id, seq_num, timestamp, headers, headers_text, body, size, body_utf8, commit_key, span, end_bytes)
  select u.id, u.start, u.last_ts,
    case when u.header_count > 0 and u.header_text = '{}'
      then ($15::bytea[])[u.header_offset + 1 : u.header_offset + 2 * u.header_count] end,
    case when u.header_count > 0 and u.header_text <> '{}' then u.header_text::text[] end,
    substring($16::bytea from u.body_offset + 1 for u.body_length), u.size, u.utf8, u.last_key, 1, u.bytes
  from upd u
),
cmd as (
  insert into ${qualified(schema, 'commands')} (stream_id, command_id, start_seq, end_seq)
  select u.id, u.command_id, u.start, u.start + 1 from upd u where u.command_id is not null
)
select u.ord, u.start as seq_num, u.last_ts as timestamp, u.stream_id, u.watched from upd u`;
}

/** The group statement's parameters, in the appends' order. */
export function appendGroupParameters(appends: readonly GroupedAppend[]): unknown[] {
  const n = appends.length;
  const basins = new Array<string>(n);
  const names = new Array<string>(n);
  const matches = new Array<number | null>(n);
  const tokens = new Array<string | null>(n);
  const timestamps = new Array<number | null>(n);
  const missing = new Array<boolean>(n);
  const sizes = new Array<number>(n);
  const utf8 = new Array<boolean>(n);
  const bodyOffsets = new Array<number>(n);
  const bodyLengths = new Array<number>(n);
  const headerCounts = new Array<number>(n);
  const headerOffsets = new Array<number>(n);
  const commandIds = new Array<string | null>(n);
  // Headers as text: one literal per append (see textArrays), the flattened strings and where each starts.
  const text: string[] = [];
  const textOffsets = new Array<number>(n);
  const textCounts = new Array<number>(n);
  const bytes: Bytes[] = [];
  const bodies = new Array<Buffer>(n);
  let bodyBase = 0;
  for (let k = 0; k < n; k++) {
    const { basin, stream, batch, options, commandId } = appends[k]!;
    basins[k] = basin;
    names[k] = stream;
    matches[k] = options.matchSeqNum ?? null;
    tokens[k] = options.fencingToken ?? null;
    timestamps[k] = batch.timestamps[0]!;
    missing[k] = batch.missingTimestamp;
    sizes[k] = batch.sizes[0]!;
    utf8[k] = batch.utf8[0]!;
    bodyOffsets[k] = bodyBase;
    bodyLengths[k] = batch.body.length;
    bodies[k] = batch.body;
    bodyBase += batch.body.length;
    headerCounts[k] = batch.headerCounts[0]!;
    commandIds[k] = commandId;
    textOffsets[k] = text.length;
    textCounts[k] = 0;
    headerOffsets[k] = bytes.length;
    if (batch.headers.length === 0) continue;
    if (batch.headerText) {
      text.push(...batch.headerText);
      textCounts[k] = batch.headerCounts[0]!;
    } else bytes.push(...batch.headers);
  }
  return [
    basins,
    names,
    intArray(matches),
    tokens,
    intArray(timestamps),
    boolArray(missing),
    intArray(sizes),
    boolArray(utf8),
    intArray(bodyOffsets),
    intArray(bodyLengths),
    intArray(headerCounts),
    intArray(headerOffsets),
    commandIds,
    // An append whose headers are stored as bytes (or that has none) gets an empty literal.
    textArrays(text, textOffsets, textCounts),
    bytes.length === 0 ? null : bytes.map(toBuffer),
    Buffer.concat(bodies, bodyBase),
  ];
}
