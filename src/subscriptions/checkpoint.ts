import { sql, type Kysely, type Transaction } from 'kysely';
import { BasinNotFoundError } from '../log/errors.js';
import type { LogContext } from '../log/log-context.js';
import type { Position } from './cursor.js';
import { storableText } from './error-text.js';

/**
 * A consumer's stored checkpoint: the position it has handled up to, the version a CAS compares, and the
 * running instance that last advanced it (null after a reset, and before the first advance).
 */
export interface Checkpoint {
  position: Position;
  version: number;
  advancedBy: string | null;
}

const FOREIGN_KEY_VIOLATION = '23503';

interface Row {
  commit_key: string;
  stream_id: string;
  seq_num: string;
  version: string;
  advanced_by: string | null;
}

const toCheckpoint = (row: Row): Checkpoint => ({
  position: { key: row.commit_key, streamId: Number(row.stream_id), seqNum: Number(row.seq_num) },
  version: Number(row.version),
  advancedBy: row.advanced_by,
});

const consumers = (context: LogContext) => sql.id(context.schema, 'consumers');

/** The columns of a consumers row that make a {@link Row}. */
const CHECKPOINT_COLUMNS = sql.raw(
  'commit_key::text as commit_key, stream_id, seq_num, version, advanced_by',
);

/**
 * The consumer's checkpoint, created at the start of the basin when it has none. Internal.
 *
 * @throws BasinNotFoundError when the basin is missing; pg's errors otherwise (callers wrap them).
 */
export async function loadCheckpoint(context: LogContext, basin: string, name: string): Promise<Checkpoint> {
  const table = consumers(context);
  // Two instances creating it at once: the second's statement sees neither its insert nor the first's row,
  // and looks again.
  for (;;) {
    let found: Checkpoint | undefined;
    try {
      found = await tryLoad();
    } catch (error) {
      // The consumers row references its basin: a missing basin is a foreign-key violation.
      if ((error as { code?: unknown }).code === FOREIGN_KEY_VIOLATION) throw new BasinNotFoundError(basin);
      throw error;
    }
    if (found) return found;
  }
  async function tryLoad(): Promise<Checkpoint | undefined> {
    const { rows } = await sql<Row>`
    with created as (
      insert into ${table} (basin, name) values (${basin}, ${name}) on conflict (basin, name) do nothing
      returning ${CHECKPOINT_COLUMNS})
    select * from created
    union all
    select ${CHECKPOINT_COLUMNS} from ${table} where basin = ${basin} and name = ${name}
    limit 1`.execute(context.db);
    return rows[0] && toCheckpoint(rows[0]);
  }
}

/** The consumer's checkpoint as stored; undefined when it has none (it was deleted). Internal. */
export async function readCheckpoint(
  context: LogContext,
  basin: string,
  name: string,
): Promise<Checkpoint | undefined> {
  const { rows } = await sql<Row>`
    select ${CHECKPOINT_COLUMNS} from ${consumers(context)} where basin = ${basin} and name = ${name}`.execute(
    context.db,
  );
  return rows[0] && toCheckpoint(rows[0]);
}

/**
 * Moves the checkpoint to `to` inside `trx` if it is still at `expectedVersion` (a compare-and-set that takes
 * the row lock, so a second instance waits for the first to end and then finds the version changed), and
 * records that the instance `by` moved it. Returns whether it moved.
 */
export async function advanceCheckpoint(
  trx: Transaction<unknown> | Kysely<unknown>,
  context: LogContext,
  basin: string,
  name: string,
  expectedVersion: number,
  to: Position,
  by: string,
): Promise<boolean> {
  const { rows } = await sql<{ version: string }>`
    update ${consumers(context)} set commit_key = ${to.key}::xid8, stream_id = ${to.streamId},
      seq_num = ${to.seqNum}, version = version + 1, advanced_by = ${by}::uuid, last_error = null,
      updated_at = clock_timestamp()
    where basin = ${basin} and name = ${name} and version = ${expectedVersion}
    returning version`.execute(trx);
  return rows.length === 1;
}

/**
 * Records why the consumer stopped (best effort: the stop itself does not depend on it), as
 * {@link storableText} makes it (no NUL, at most 4,000 characters).
 */
export async function recordFailure(
  context: LogContext,
  basin: string,
  name: string,
  message: string,
): Promise<void> {
  await sql`update ${consumers(context)} set last_error = ${storableText(message)}, updated_at = clock_timestamp()
    where basin = ${basin} and name = ${name}`.execute(context.db);
}

/**
 * Stores a parked record (in the transaction that steps the checkpoint over it), keyed by its stream's id and
 * seqNum (migrations/0008_parked_by_stream_id.sql): parked again, the same record's entry is updated.
 * `error` must be storable text (see `errorText`).
 */
export async function parkRecord(
  trx: Transaction<unknown>,
  context: LogContext,
  park: {
    basin: string;
    consumer: string;
    stream: string;
    seqNum: number;
    position: Position;
    attempts: number;
    error: string;
  },
): Promise<void> {
  await sql`insert into ${sql.id(context.schema, 'parked_records')}
      (basin, consumer, stream, seq_num, commit_key, stream_id, attempts, error)
    values (${park.basin}, ${park.consumer}, ${park.stream}, ${park.seqNum}, ${park.position.key}::xid8,
      ${park.position.streamId}, ${park.attempts}, ${park.error})
    on conflict (basin, consumer, stream_id, seq_num)
      do update set attempts = excluded.attempts, error = excluded.error, parked_at = clock_timestamp()`.execute(
    trx,
  );
}
