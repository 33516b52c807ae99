import type pg from 'pg';
import pgLib from 'pg';
import { connectClient } from './connect-client.js';
import { ClosedError, IndefiniteAppendError, StorageError } from './errors.js';

const int8 = (value: string): number => {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new StorageError(`a 64-bit value ${value} does not fit a JS number`);
  return n;
};
const int8Array = pgLib.types.getTypeParser(1016 as Parameters<typeof pgLib.types.getTypeParser>[0]);

/**
 * Type parsers for fencepost's own queries: bigint columns come back as numbers (checked to be safe integers),
 * everything else as pg parses it. Set per query, so an application's global pg parsers are left alone.
 */
export const numericTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
    if (format !== 'binary') {
      if (oid === 20) return int8;
      if (oid === 1016) return (value: string) => (int8Array(value) as string[]).map(int8);
    }
    return pgLib.types.getTypeParser(oid, format ?? 'text') as (value: string) => unknown;
  },
};

/** SQLSTATEs after which the session is gone: an in-flight statement may or may not have committed. */
const CONNECTION_LOST = /^(08|57P0)/;
/** SQLSTATEs refusing a new connection for now: too many connections, or short of resources. */
const UNAVAILABLE = /^53/;

/**
 * Runs one named (prepared, plan-cached) statement on a pooled connection, with bigints as numbers (or the
 * given type parsers), rows as objects or, with `rowMode: 'array'`, as arrays (cheaper for many rows).
 * Failures are classified: if the connection could not be had, or Postgres answered with an error, nothing
 * was written (`StorageError`); if the connection was lost while the statement was in flight, a write is
 * indefinite (`IndefiniteAppendError`) and a read is a `StorageError`. `StorageError.connectionLost` says
 * whether it was the connection's failure rather than a refusal. A closed log's pool refuses the checkout
 * (`ClosedError`).
 */
export async function runQuery<R extends object>(
  pool: pg.Pool,
  query: { name: string; text: string; values: unknown[] },
  kind: 'read' | 'write',
  options: QueryOptions = {},
): Promise<R[]> {
  const client = await checkOut(pool);
  let broken: Error | undefined;
  try {
    const { types = numericTypes, rowMode } = options;
    const result = await client.query<R>({ ...query, types, rowMode } as pg.QueryConfig);
    return result.rows;
  } catch (cause) {
    const failed = classify(cause, kind);
    broken = failed.lost;
    throw failed.error;
  } finally {
    client.release(broken);
  }
}

/** How {@link runQuery} and {@link scanQuery} parse a result: type parsers, and rows as objects or arrays. */
export interface QueryOptions {
  types?: { getTypeParser(oid: number, format?: string): unknown };
  rowMode?: 'array';
}

/**
 * Runs a read as {@link runQuery} does, but hands each row to `onRow` as it arrives instead of collecting the
 * result: a large result is never held in memory at once, and rows die young (measured: a 10,000-record
 * aggregate load spent 10 ms of its 30 in garbage collection with the rows kept, 3 ms without). The first
 * error `onRow` throws is thrown once the statement has ended; `onRow` sees no row after it. Returns how many
 * rows came.
 *
 * @throws StorageError, or what `onRow` threw.
 */
export async function scanQuery<R>(
  pool: pg.Pool,
  query: { name: string; text: string; values: unknown[] },
  onRow: (row: R) => void,
  options: QueryOptions = {},
): Promise<number> {
  const client = await checkOut(pool);
  let broken: Error | undefined;
  let failure: { error: unknown } | undefined;
  let count = 0;
  try {
    const { types = numericTypes, rowMode } = options;
    const submitted = new pgLib.Query({ ...query, types, rowMode } as pg.QueryConfig);
    await new Promise<void>((resolve, reject) => {
      submitted.on('row', (row: R) => {
        count++;
        if (failure) return;
        try {
          onRow(row);
        } catch (error) {
          failure = { error };
        }
      });
      submitted.on('end', () => resolve());
      submitted.on('error', reject);
      client.query(submitted);
    });
  } catch (cause) {
    const failed = classify(cause, 'read');
    broken = failed.lost;
    throw failed.error;
  } finally {
    client.release(broken);
  }
  if (failure) throw failure.error;
  return count;
}

/**
 * A client of the pool (through the log's state, see log-pool.ts, when the pool is the log's).
 *
 * @throws ClosedError once the log is closed; StorageError when no connection could be had (`connectionLost`,
 *   unless the server refused the connection for good: a bad password, a missing database, ...).
 */
async function checkOut(pool: pg.Pool): Promise<pg.PoolClient> {
  try {
    return await connectClient(pool);
  } catch (cause) {
    if (cause instanceof ClosedError) throw cause;
    const code = sqlState(cause);
    throw new StorageError(`could not get a database connection: ${messageOf(cause)}`, {
      cause,
      connectionLost: code === undefined || CONNECTION_LOST.test(code) || UNAVAILABLE.test(code),
    });
  }
}

/**
 * A failed statement's error: refused by the database (nothing written: a `StorageError` that is not
 * `connectionLost`), or its connection lost (`lost`, the cause to release the client with, so that the pool
 * drops it; a write's outcome is then unknown, a read's error is `connectionLost`).
 */
function classify(cause: unknown, kind: 'read' | 'write'): { error: Error; lost?: Error } {
  if (refusedByDatabase(cause)) {
    return {
      error: new StorageError(`the database refused the statement: ${messageOf(cause)}`, {
        cause,
        transient: refusedForNow(cause),
      }),
    };
  }
  const lost = cause instanceof Error ? cause : new Error(String(cause));
  if (kind === 'write') return { error: new IndefiniteAppendError({ cause }), lost };
  return {
    error: new StorageError(`the database connection was lost: ${messageOf(cause)}`, {
      cause,
      connectionLost: true,
    }),
    lost,
  };
}

/** SQLSTATEs of a refusal that may pass: canceled or timed out, transaction rollback, lock not available. */
const PASSING = /^(57014|40|55P03|53)/;

/** Whether the database refused a statement for a reason that may pass (see StorageError.transient). */
export function refusedForNow(cause: unknown): boolean {
  const code = sqlState(cause);
  return code !== undefined && PASSING.test(code);
}

/**
 * Whether Postgres answered a statement with an error (a SQLSTATE other than a lost session's): the session
 * lives on, and the statement wrote nothing. Otherwise the connection failed or was lost.
 */
export function refusedByDatabase(cause: unknown): boolean {
  const code = sqlState(cause);
  return code !== undefined && !CONNECTION_LOST.test(code);
}

/** The SQLSTATE of an error reply from the server; undefined for any other failure (a socket's, say). */
function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** An error's message, or the thrown value as a string. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
