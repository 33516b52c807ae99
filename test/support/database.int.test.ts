/**
 * Self-test of the test database support: each `useTestDatabase()` gets its own reachable database, which is
 * isolated from the others and dropped when its scope ends, even with a connection left open.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { adminQuery, useTestDatabase } from './database.js';

const db = useTestDatabase();
const other = useTestDatabase();

/** Runs `sql` on a fresh connection to `connectionString` and returns the rows. */
async function query<Row extends pg.QueryResultRow>(connectionString: string, sql: string): Promise<Row[]> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return (await client.query<Row>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function databaseExists(name: string): Promise<boolean> {
  const rows = await adminQuery('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return rows.length > 0;
}

describe('useTestDatabase', () => {
  it('connects to a fresh, uniquely named database', async () => {
    expect(db.name).toMatch(/^fp_test_[0-9a-f]{16}$/);
    expect(other.name).not.toBe(db.name);
    const [row] = await query<{ db: string }>(db.connectionString, 'SELECT current_database() AS db');
    expect(row?.db).toBe(db.name);
  });

  it('isolates databases from each other', async () => {
    await query(db.connectionString, 'CREATE TABLE isolation_probe (id int)');
    const seen = (url: string) =>
      query<{ t: string | null }>(url, "SELECT to_regclass('isolation_probe')::text AS t");
    expect((await seen(db.connectionString))[0]?.t).toBe('isolation_probe');
    expect((await seen(other.connectionString))[0]?.t).toBeNull();
  });

  let droppedName = '';
  describe('in a nested scope', () => {
    const nested = useTestDatabase();
    it('exists while the scope runs, even with a connection left open', async () => {
      droppedName = nested.name;
      expect(await databaseExists(droppedName)).toBe(true);
      // Left open on purpose: the drop must terminate it (WITH (FORCE)).
      const leftOpen = new pg.Client({ connectionString: nested.connectionString });
      leftOpen.on('error', () => {});
      await leftOpen.connect();
    });
  });

  it('drops the nested database when its scope ends', async () => {
    expect(droppedName).not.toBe('');
    expect(await databaseExists(droppedName)).toBe(false);
    expect(await databaseExists(db.name)).toBe(true);
  });
});
