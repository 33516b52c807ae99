/**
 * Finds a PostgreSQL server for the test suite, in this order:
 * 1. `DATABASE_URL`, used as is (never stopped);
 * 2. Testcontainers' PostgreSQL, when a container runtime answers within {@link RUNTIME_PROBE_MS};
 * 3. an embedded PostgreSQL from node_modules, on a free port, with its data in a fresh temp folder that is
 *    removed on `stop()`.
 *
 * The URL returned is an admin connection (a superuser, or at least a role that may CREATE DATABASE).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../../examples/support/embedded-postgres.js';

/** A server the tests can use. */
export interface TestServer {
  /** Admin connection string. */
  readonly url: string;
  /** Where the server came from. */
  readonly source: 'DATABASE_URL' | 'testcontainers' | 'embedded';
  /** Stops the server if this module started it. */
  stop(): Promise<void>;
}

/** How long to wait for a container runtime to answer before falling through to embedded PostgreSQL. */
export const RUNTIME_PROBE_MS = 3000;

/** Container image used when a container runtime is available. */
export const POSTGRES_IMAGE = 'postgres:17-alpine';

/** Settings that trade durability for speed: test data is thrown away anyway. */
const FAST_SETTINGS = {
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
  max_connections: 200,
};

/** Finds or starts a PostgreSQL server; see the module comment for the order. */
export async function startServer(): Promise<TestServer> {
  const fromEnv = process.env.DATABASE_URL;
  if (fromEnv) return { url: fromEnv, source: 'DATABASE_URL', stop: async () => {} };
  if (await containerRuntimeAnswers()) return startContainer();
  return startEmbedded();
}

/** Whether Testcontainers finds a working container runtime; false on error or after the timeout. */
export async function containerRuntimeAnswers(timeoutMs = RUNTIME_PROBE_MS): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
    timer.unref();
  });
  const probe = import('testcontainers')
    .then(({ getContainerRuntimeClient }) => getContainerRuntimeClient())
    .then(
      () => true,
      () => false,
    );
  try {
    return await Promise.race([probe, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function startContainer(): Promise<TestServer> {
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const settings = Object.entries(FAST_SETTINGS).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
  const container = await new PostgreSqlContainer(POSTGRES_IMAGE)
    .withCommand(['postgres', ...settings])
    .withTmpFs({ '/var/lib/postgresql/data': 'rw' })
    .start();
  return {
    url: container.getConnectionUri(),
    source: 'testcontainers',
    stop: async () => void (await container.stop()),
  };
}

async function startEmbedded(): Promise<TestServer> {
  const folder = await fs.mkdtemp(path.join(os.tmpdir(), 'fencepost-pg-'));
  // As root the server runs as the `postgres` user, which must be able to reach the data dir inside.
  await fs.chmod(folder, 0o755);
  try {
    const server = await startEmbeddedPostgres({
      dataDir: path.join(folder, 'data'),
      settings: FAST_SETTINGS,
    });
    return {
      url: server.url,
      source: 'embedded',
      stop: async () => {
        await server.stop();
        await fs.rm(folder, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await fs.rm(folder, { recursive: true, force: true });
    throw error;
  }
}
