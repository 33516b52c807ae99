/**
 * Per-test-file databases on the server found by the global setup, so test files can run in parallel and
 * leave nothing behind.
 *
 * ```ts
 * const db = useTestDatabase();
 * it('works', async () => {
 *   const pool = new pg.Pool({ connectionString: db.connectionString });
 *   // ...
 * });
 * ```
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';

/** A database created for the enclosing test file or `describe` block. */
export interface TestDatabase {
  /** Database name, `fp_test_<random>`; throws outside tests and hooks of its scope. */
  readonly name: string;
  /** Connection string for the database; throws outside tests and hooks of its scope. */
  readonly connectionString: string;
}

/**
 * Registers `beforeAll`/`afterAll` hooks in the current scope (file or `describe`) that create a fresh,
 * uniquely named database and drop it afterwards, closing any connections left open (`WITH (FORCE)`).
 */
export function useTestDatabase(): TestDatabase {
  let name: string | undefined;
  beforeAll(async () => {
    const candidate = `fp_test_${randomBytes(8).toString('hex')}`;
    await adminQuery(`CREATE DATABASE ${pg.escapeIdentifier(candidate)}`);
    name = candidate;
  });
  afterAll(async () => {
    if (name === undefined) return;
    await adminQuery(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    name = undefined;
  });
  const current = (): string => {
    if (name === undefined)
      throw new Error('useTestDatabase(): database only exists inside its tests and hooks');
    return name;
  };
  return {
    get name() {
      return current();
    },
    get connectionString() {
      return databaseUrl(current());
    },
  };
}

/** The admin connection string provided by the global setup. */
export function adminUrl(): string {
  return inject('pgAdminUrl');
}

/** Connection string for database `name` on the test server (same credentials as the admin URL). */
export function databaseUrl(name: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${encodeURIComponent(name)}`;
  return url.href;
}

/** Runs one statement on a short-lived admin connection and returns its rows. */
export async function adminQuery<Row extends pg.QueryResultRow = pg.QueryResultRow>(
  sql: string,
  params: unknown[] = [],
): Promise<Row[]> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    return (await client.query<Row>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/**
 * A pg pool for a test file's own statements. Its `error` listener matters at the end of the file: `end()`
 * lets go of idle clients before their connections have closed, and the database's `DROP … WITH (FORCE)` can
 * terminate one of them then; without a listener, the pool's `error` event is an uncaught exception.
 */
export function testPool(connectionString: string, max = 2): pg.Pool {
  const pool = new pg.Pool({ connectionString, max });
  pool.on('error', () => undefined);
  return pool;
}
