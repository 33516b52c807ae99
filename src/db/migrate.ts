import { readdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import {
  Kysely,
  Migrator,
  sql,
  type Migration,
  type MigrationProvider,
  type MigrationResultSet,
} from 'kysely';
import { checkSchemaName } from './schema-name.js';

/** The `migrations/` folder shipped with the package (found from this file, in `src/` or in `dist/src/`). */
export function migrationsFolder(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'migrations');
    if (existsSync(path.join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('fencepost: cannot find the migrations/ folder of the package');
}

/**
 * Provides the `.sql` files of `migrations/` as Kysely migrations, in file-name order. Each runs with
 * `search_path` set to the target schema, so the files name no schema.
 */
export class SqlFileMigrationProvider implements MigrationProvider {
  readonly #folder: string;
  readonly #schema: string;

  constructor(schema: string, folder = migrationsFolder()) {
    this.#schema = checkSchemaName(schema);
    this.#folder = folder;
  }

  async getMigrations(): Promise<Record<string, Migration>> {
    const files = (await readdir(this.#folder)).filter((f) => f.endsWith('.sql')).sort();
    const migrations: Record<string, Migration> = {};
    for (const file of files) {
      const text = await readFile(path.join(this.#folder, file), 'utf8');
      migrations[file.replace(/\.sql$/, '')] = {
        up: async (db) => {
          await sql`set local search_path to ${sql.id(this.#schema)}`.execute(db);
          await sql.raw(text).execute(db);
        },
      };
    }
    return migrations;
  }
}

/**
 * Applies every pending migration to `schema`, creating the schema if needed. Safe to run from several
 * processes at once: Kysely's migrator takes a transaction-scoped advisory lock, and every migration of a run
 * commits or rolls back together. Never throws for a failed migration; returns Kysely's result set (with
 * `error` set) instead.
 */
export async function migrate(db: Kysely<unknown>, schema: string): Promise<MigrationResultSet> {
  const migrator = new Migrator({
    db,
    provider: new SqlFileMigrationProvider(schema),
    migrationTableSchema: schema,
    migrationTableName: 'migrations',
    migrationLockTableName: 'migrations_lock',
  });
  return migrator.migrateToLatest();
}
