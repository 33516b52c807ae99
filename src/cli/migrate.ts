/**
 * `npm run migrate -- [--schema NAME] [--url postgres://...]`: applies fencepost's pending migrations to a
 * database (default `DATABASE_URL`) and schema (default `fencepost`), prints what it applied, and exits 1 if a
 * migration failed.
 */
import { parseArgs } from 'node:util';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { migrate } from '../db/migrate.js';
import { checkSchemaName, DEFAULT_SCHEMA } from '../db/schema-name.js';

const { values } = parseArgs({
  options: { schema: { type: 'string', default: DEFAULT_SCHEMA }, url: { type: 'string' } },
});
const url = values.url ?? process.env.DATABASE_URL;
if (!url) {
  console.error('migrate: give --url postgres://... or set DATABASE_URL');
  process.exit(2);
}
const schema = checkSchemaName(values.schema);
const db = new Kysely<unknown>({
  dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }),
});
try {
  const { error, results = [] } = await migrate(db, schema);
  for (const result of results) console.log(`${result.status.padEnd(7)} ${result.migrationName}`);
  if (error) {
    console.error(`migrate: failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  } else if (results.length === 0) {
    console.log(`schema ${schema} is up to date`);
  }
} finally {
  await db.destroy();
}
