import type pg from 'pg';
import pgLib from 'pg';
import { connectClient } from './connect-client.js';
import { IndefiniteAppendError, StorageError } from './errors.js';

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

/**
 * Runs one named (prepared, plan-cached) statement on a pooled connection, with bigints as numbers (or the
 * given type parsers), rows as objects or, with `rowMode: 'array'`, as arrays (cheaper for many rows). Failures are classified: if the
 * connection could not be had, or Postgres answered with an error, nothing was written (`StorageError`, or the
 * error itself when it is one of ours); if the connection was lost while the statement was in flight, a write
 * is indefinite (`IndefiniteAppendError`) and a read is a `StorageError`.
 */
export async function runQuery<R extends object>(
  pool: pg.Pool,
  query: { name: string; text: string; values: unknown[] },
  kind: 'read' | 'write',
  options: { types?: { getTypeParser(oid: number, format?: string): unknown }; rowMode?: 'array' } = {},
): Promise<R[]> {
  let client: pg.PoolClient;
  try {
    client = await connectClient(pool);
  } catch (cause) {
    throw new StorageError(`could not get a database connection: ${messageOf(cause)}`, { cause });
  }
  let broken: Error | undefined;
  try {
    const { types = numericTypes, rowMode } = options;
    const result = await client.query<R>({ ...query, types, rowMode } as pg.QueryConfig);
    return result.rows;
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    const answered = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !CONNECTION_LOST.test(code);
    if (answered)
      throw new StorageError(`the database refused the statement: ${messageOf(cause)}`, { cause });
    broken = cause instanceof Error ? cause : new Error(String(cause));
    if (kind === 'write') throw new IndefiniteAppendError({ cause });
    throw new StorageError(`the database connection was lost: ${messageOf(cause)}`, { cause });
  } finally {
    client.release(broken);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
