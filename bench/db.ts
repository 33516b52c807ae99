/** The bench's own database: created fresh for a run, dropped at its end. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export interface BenchDatabase {
  name: string;
  url: string;
  serverVersion: string;
  /** Flushes dirty buffers so that a checkpoint does not land inside the next timed run; false if not allowed. */
  checkpoint(): Promise<boolean>;
  /** Drops the database (forcing out any connection left behind); safe to call more than once. */
  drop(): Promise<void>;
}

/** Creates `fp_bench_<random>` on the server of `serverUrl` (whose own database is only used to create it). */
export async function createBenchDatabase(serverUrl: string): Promise<BenchDatabase> {
  const name = `fp_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  // A dropped admin connection must not crash the run; the drop at the end then reports the error.
  admin.on('error', () => {});
  await admin.connect();
  try {
    await admin.query(`create database "${name}"`);
  } catch (error) {
    await admin.end();
    throw error;
  }
  const serverVersion = (await admin.query<{ v: string }>('select version() as v')).rows[0]?.v ?? '?';
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;

  let canCheckpoint = true;
  let dropped: Promise<void> | undefined;
  return {
    name,
    url: url.toString(),
    serverVersion,
    async checkpoint() {
      if (!canCheckpoint) return false;
      try {
        await admin.query('checkpoint');
      } catch {
        canCheckpoint = false; // Needs superuser or pg_checkpoint.
      }
      return canCheckpoint;
    },
    drop() {
      dropped ??= (async () => {
        try {
          await admin.query(`drop database if exists "${name}" with (force)`);
        } finally {
          await admin.end();
        }
      })();
      return dropped;
    },
  };
}
