/**
 * The database for runnable examples (`npm start`): `DATABASE_URL` when set, else an embedded PostgreSQL whose
 * data lives in the git-ignored `.fencepost/pg` at the repo root (initialised on first run, reused after),
 * listening on port {@link EXAMPLE_PORT} or, when that is taken, a free one.
 *
 * ```ts
 * const db = await startExampleDatabase();
 * try {
 *   // ... use db.connectionString
 * } finally {
 *   await db.stop();
 * }
 * ```
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedPostgres } from './embedded-postgres.js';

/** A database for an example to use. */
export interface ExampleDatabase {
  readonly connectionString: string;
  /**
   * Stops the embedded server unless another live process started it; call it before exiting (a server
   * started here keeps Node alive).
   */
  stop(): Promise<void>;
}

/** Preferred port of the embedded server. */
export const EXAMPLE_PORT = 54329;

/** Repo root, two levels above this file. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Data directory of the embedded server. */
export const EXAMPLE_DATA_DIR = path.join(ROOT, '.fencepost', 'pg');

/** Returns the examples' database and prints one line saying which it is. */
export async function startExampleDatabase(): Promise<ExampleDatabase> {
  const fromEnv = process.env.DATABASE_URL;
  if (fromEnv) {
    console.log('fencepost: using the database at DATABASE_URL');
    return { connectionString: fromEnv, stop: async () => {} };
  }
  await fs.mkdir(path.dirname(EXAMPLE_DATA_DIR), { recursive: true });
  const server = await startEmbeddedPostgres({ dataDir: EXAMPLE_DATA_DIR, port: EXAMPLE_PORT });
  const relative = path.relative(process.cwd(), EXAMPLE_DATA_DIR);
  const where = relative.startsWith('..') || relative === '' ? EXAMPLE_DATA_DIR : relative;
  const how = { started: 'started', adopted: 'left running by a killed run', shared: 'already running' }[
    server.origin
  ];
  console.log(`fencepost: using embedded PostgreSQL in ${where} (${how}, port ${server.port})`);
  return { connectionString: server.url, stop: () => server.stop() };
}
