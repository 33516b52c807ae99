import { randomBytes } from 'node:crypto';
import type { INestApplication, ModuleMetadata } from '@nestjs/common';
import type { TestingModule, TestingModuleBuilder } from '@nestjs/testing';
import pg from 'pg';
import { InvalidArgumentError } from '../log/errors.js';
import { EventLog } from '../log/event-log.js';
import type { FencepostModuleOptions } from '../nest/fencepost-module-options.js';

/** Options of {@link createFencepostTestingModule}. */
export interface FencepostTestingOptions {
  /**
   * A connection string for a role that may `CREATE DATABASE` (default `DATABASE_URL`). The test database is
   * made on the same server, with the same credentials.
   */
  adminUrl?: string;
  /** The test database's name (default `fp_nest_<16 random hex digits>`); it must not exist yet. */
  databaseName?: string;
  /** More `FencepostModule` options (schema, basin, ...); `connectionString` is the test database's. */
  fencepost?: Omit<FencepostModuleOptions, 'connectionString' | 'pool'>;
  /** Changes the builder before it compiles, e.g. `(b) => b.overrideProvider(Clock).useValue(fixed)`. */
  configure?: (builder: TestingModuleBuilder) => TestingModuleBuilder;
  /** Make an HTTP application (`module.createNestApplication()`) instead of initialising the bare module. */
  app?: boolean;
  /** Called with the application before `init()` (global filters, pipes, ...); only with `app: true`. */
  configureApp?: (app: INestApplication) => void | Promise<void>;
}

/** A compiled and initialised Nest testing module on its own database. */
export interface FencepostTestingModule {
  readonly module: TestingModule;
  /** The application, when `app: true` was given. */
  readonly app: INestApplication | undefined;
  /** The test database's name and connection string. */
  readonly databaseName: string;
  readonly connectionString: string;
  /** Closes the application or module (its shutdown hooks close the pool), then drops the database. */
  close(): Promise<void>;
}

/**
 * Compiles and initialises a Nest testing module whose `FencepostModule` uses a fresh database, created here
 * and dropped by `close()` (with any connection still open to it). The metadata must import
 * `FencepostModule.forRoot(...)` or `forRootAsync(...)` (directly or through your app module): its options are
 * replaced by the test database's. Lifecycle hooks really run: `init()` on the way in, shutdown on `close()`.
 *
 * @throws InvalidArgumentError when there is no admin URL; the database's or the module's error when either
 *   fails (the database is dropped again first).
 *
 * @example
 * const testing = await createFencepostTestingModule({ imports: [BankModule] }, { app: true });
 * await testing.app!.listen(0);
 * // ... requests ...
 * await testing.close();
 */
export async function createFencepostTestingModule(
  metadata: ModuleMetadata,
  options: FencepostTestingOptions = {},
): Promise<FencepostTestingModule> {
  const adminUrl = options.adminUrl ?? process.env.DATABASE_URL;
  if (!adminUrl) {
    throw new InvalidArgumentError('createFencepostTestingModule needs options.adminUrl or DATABASE_URL');
  }
  const databaseName = options.databaseName ?? `fp_nest_${randomBytes(8).toString('hex')}`;
  await admin(adminUrl, `CREATE DATABASE ${pg.escapeIdentifier(databaseName)}`);
  const connectionString = urlOf(adminUrl, databaseName);
  const drop = () =>
    admin(adminUrl, `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(databaseName)} WITH (FORCE)`);

  let module: TestingModule | undefined;
  let app: INestApplication | undefined;
  try {
    // Loaded here, so that `fencepost/testing` (DeciderSpec) imports without Nest installed.
    const [{ Test }, { FENCEPOST_MODULE_OPTIONS }] = await Promise.all([
      import('@nestjs/testing'),
      import('../nest/fencepost.module-definition.js'),
    ]);
    const builder = Test.createTestingModule(metadata)
      .overrideProvider(FENCEPOST_MODULE_OPTIONS)
      .useValue({ ...options.fencepost, connectionString } satisfies FencepostModuleOptions);
    module = await (options.configure?.(builder) ?? builder).compile();
    if (options.app) {
      app = module.createNestApplication();
      await options.configureApp?.(app);
      await app.init();
    } else {
      await module.init();
    }
  } catch (error) {
    // After a failed init, close() rethrows and runs no hooks: close the log by hand.
    await closeLogOf(module);
    await drop();
    throw error;
  }
  const opened = module;
  let closed: Promise<void> | undefined;
  return {
    module: opened,
    app,
    databaseName,
    connectionString,
    close: () =>
      (closed ??= (async () => {
        try {
          await (app ?? opened).close();
        } finally {
          await drop();
        }
      })()),
  };
}

/** Closes the module's EventLog, if it got as far as making one. */
async function closeLogOf(module: TestingModule | undefined): Promise<void> {
  try {
    await module?.get(EventLog, { strict: false }).close();
  } catch {
    // no log was made, or it failed to close: nothing more to do before the database is dropped
  }
}

/** Runs one statement on a short-lived admin connection. */
async function admin(adminUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** `adminUrl` pointing at database `name` instead. */
function urlOf(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  return url.href;
}
