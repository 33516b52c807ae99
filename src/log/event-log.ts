import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import { z } from 'zod';
import { migrate } from '../db/migrate.js';
import { checkSchemaName, DEFAULT_SCHEMA } from '../db/schema-name.js';
import type { Database } from '../db/tables.js';
import { appendStatement } from './append-batch-statement.js';
import { appendOneStatement } from './append-one-statement.js';
import { appendGroupStatement } from './append-group-statement.js';
import { AppendGroups, DEFAULT_GROUPING, type GroupingSettings } from './append-groups.js';
import { appendMany, type AppendManyItem, type AppendManyOptions } from './append-many.js';
import {
  appendManyCreateStatement,
  appendManyOneStatement,
  appendOneCommandStatement,
  appendManyStatement,
  createStreamsStatement,
  lookupCommandStatement,
} from './append-many-statement.js';
import { lookupCommand, type CommandRange } from './lookup-command.js';
import { stateStatement } from './state-statement.js';
import { connectClient } from './connect-client.js';
import { refusedByDatabase } from './run-query.js';
import { Basin } from './basin.js';
import { Basins, DEFAULT_BASIN } from './basins.js';
import { InvalidArgumentError, StorageError } from './errors.js';
import { assertOpen, registerContext, type LogContext, type Statements } from './log-context.js';
import { checkBasinName, checkStreamName } from './names.js';
import { readStatement, seekTimestampStatement } from './read-statement.js';
import type { Stream } from './stream.js';
import { statementName } from './statement-name.js';
import { Sweeper } from './sweep.js';
import { Notifier } from './notifier.js';
import { Watcher } from './watcher.js';
import { LogState } from './log-state.js';
import { logPool } from './log-pool.js';
import type { AppendAck, ReadAs } from './types.js';
import { readAll } from '../subscriptions/read-all.js';
import { followAll } from '../subscriptions/follow-all.js';
import { horizonReport } from '../subscriptions/horizon.js';
import type {
  FollowAllOptions,
  GlobalRecord,
  HorizonReport,
  ReadAllBatch,
  ReadAllOptions,
} from '../subscriptions/types.js';
import { Consumer, type ConsumerOptions } from '../subscriptions/consumer.js';
import { Consumers } from '../subscriptions/consumers.js';
import { checkCommitKeys } from '../subscriptions/commit-keys.js';

const connectOptionsSchema = z
  .object({
    connectionString: z.string().min(1).optional(),
    pool: z.instanceof(pg.Pool).optional(),
    max: z.number().int().positive().optional(),
    idleTimeoutMillis: z.number().int().nonnegative().optional(),
    connectionTimeoutMillis: z.number().int().nonnegative().optional(),
    schema: z.string().optional(),
    basin: z.string().optional(),
    migrate: z.boolean().optional(),
    sweepIntervalMs: z.number().int().nonnegative().optional(),
    pollIntervalMs: z.number().int().positive().optional(),
    closeTimeoutMs: z.number().int().nonnegative().optional(),
    groupAppends: z.unknown().optional(), // see groupAppendsSchema
  })
  .strict();

/** `ConnectOptions.groupAppends` when it is not `false` (checked apart, so an error names the setting). */
const groupAppendsSchema = z
  .object({
    concurrency: z.number().int().positive().optional(),
    maxAppends: z.number().int().min(2).max(1000).optional(),
    stallMs: z.number().int().positive().optional(),
  })
  .strict();

/** Options of {@link EventLog.connect}. */
export interface ConnectOptions {
  /** A Postgres connection string; fencepost makes and owns a pool. Default: `DATABASE_URL`. */
  connectionString?: string;
  /**
   * Use this pool instead (not closed by `close()`). Give it
   * `options: '-c plan_cache_mode=force_generic_plan -c jit=off'` for the speed of the pools fencepost makes
   * (see README).
   */
  pool?: pg.Pool;
  /**
   * Pool size when fencepost makes the pool (default 10). Followers' LISTEN connection is one more, made
   * with the pool's options outside the pool, once something waits at a tail.
   */
  max?: number;
  /**
   * When fencepost makes the pool: how long a connection may sit idle before the pool closes it, in ms; 0
   * keeps idle connections open (default 300000, 5 minutes; pg's own default is 10 s). A new connection costs
   * a backend start, the warm-up of fencepost's tables in it, and the preparing and planning of each
   * statement: its first append took 7.9 ms here against 2.1 ms for the next one (a plain INSERT: 4.8 against
   * 0.6 ms). So a pool that closes connections after 10 s pays that again after every lull.
   */
  idleTimeoutMillis?: number;
  /**
   * When fencepost makes the pool: how long an operation waits for a connection, in ms, whether the pool is
   * opening one or all are in use; past it, the operation fails with a definite `StorageError` (nothing
   * written; `connectionLost`, so worth a retry). 0 waits forever, as pg does by default (default 30000). An
   * unreachable server, or one that accepts connections and never answers, then fails appends and reads
   * instead of leaving them waiting.
   */
  connectionTimeoutMillis?: number;
  /** The Postgres schema holding fencepost's tables (default `fencepost`). */
  schema?: string;
  /** The basin `log.stream()` uses (default `default-basin`). */
  basin?: string;
  /** Apply pending migrations on connect (default true). */
  migrate?: boolean;
  /**
   * How often the background sweep runs, in ms; 0 turns it off (default 30000). Each run does a bounded share
   * of the work (retention, deleteOnEmpty, deleting trimmed records) and the next goes on from there; a failed
   * run is reported with one console.warn line per kind of failure, until a run succeeds again.
   */
  sweepIntervalMs?: number;
  /**
   * How often a follower (or a waiting read) at the tail looks for new records when no notification woke it,
   * in ms (default 1000). Notifications normally wake it within milliseconds; this bounds the delay when one
   * is lost.
   */
  pollIntervalMs?: number;
  /**
   * How long `close()` lets the log's statements in flight run on before it cuts them off, in ms (default
   * 5000; see {@link EventLog.close}).
   */
  closeTimeoutMs?: number;
  /**
   * Group commit of single-record appends (default on: `{ concurrency: 2, maxAppends: 100, stallMs: 10 }`;
   * `false` turns it off). While `concurrency` statements of single-record appends run, further such appends
   * (to streams that exist, not command records) wait, and go together, up to `maxAppends` of them, in the
   * next statement: one transaction, each append checked against its own stream and failing or succeeding on
   * its own. Appends that waited `stallMs` for a place are sent all the same. A process appending one record
   * at a time never waits. Appends of one group commit together: when the connection is lost around COMMIT,
   * every one of them fails with IndefiniteAppendError (see the README's "Group commit").
   */
  groupAppends?: false | { concurrency?: number; maxAppends?: number; stallMs?: number };
}

/**
 * A connection to fencepost's log in one Postgres database and schema.
 *
 * @example
 * const log = await EventLog.connect({ connectionString: process.env.DATABASE_URL, max: 16 });
 * const ack = await log.stream('orders-42').append([{ body: 'hello' }], { matchSeqNum: 0 });
 * await log.close();
 */
export class EventLog {
  readonly #context: LogContext;
  /** The pool itself (the context's is the log's view of it, see log-pool.ts). */
  readonly #pool: pg.Pool;
  readonly #ownsPool: boolean;
  readonly #defaultBasin: string;
  readonly #sweeper: Sweeper;
  readonly #closeTimeoutMs: number;
  #closing: Promise<void> | undefined;
  /** Create, list, configure and delete basins. */
  readonly basins: Basins;
  /** List, reset and delete the durable consumers of the log's basins. */
  readonly consumers: Consumers;

  private constructor(
    context: LogContext,
    pool: { pool: pg.Pool; owned: boolean },
    defaultBasin: string,
    timing: { sweepIntervalMs: number; closeTimeoutMs: number },
  ) {
    this.#context = context;
    registerContext(this, context);
    this.#pool = pool.pool;
    this.#ownsPool = pool.owned;
    this.#defaultBasin = defaultBasin;
    this.basins = new Basins(context);
    this.consumers = new Consumers(context, defaultBasin);
    this.#sweeper = new Sweeper(context, { intervalMs: timing.sweepIntervalMs });
    this.#closeTimeoutMs = timing.closeTimeoutMs;
  }

  /**
   * Connects, applies pending migrations (unless `migrate: false`) and starts the background sweep.
   *
   * @throws InvalidArgumentError for bad options; StorageError when the database cannot be reached or a
   *   migration fails; CommitKeysAheadError when the log's commit keys are ahead of this cluster's
   *   transaction ids (a log copied from another cluster: see the README's global log section).
   */
  static async connect(options: ConnectOptions = {}): Promise<EventLog> {
    const parsed = connectOptionsSchema.safeParse(options);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new InvalidArgumentError(
        `EventLog.connect: ${issue.path.join('.') || 'options'}: ${issue.message}`,
      );
    }
    const grouping = groupingSettings(options.groupAppends);
    const schema = checkSchemaName(options.schema ?? DEFAULT_SCHEMA);
    const defaultBasin = options.basin === undefined ? DEFAULT_BASIN : checkBasinName(options.basin);
    const connectionString = options.connectionString ?? process.env.DATABASE_URL;
    if (!options.pool && !connectionString) {
      throw new InvalidArgumentError('EventLog.connect needs a connectionString, a pool, or DATABASE_URL');
    }
    const poolSettings = POOL_SETTINGS.filter((key) => options[key] !== undefined).map(
      (key) => `${key} ${options[key]}`,
    );
    if (options.pool && poolSettings.length > 0) {
      throw new InvalidArgumentError(
        `EventLog.connect: ${POOL_SETTINGS.slice(0, -1).join(', ')} and ${POOL_SETTINGS.at(-1)} configure the pool fencepost makes; with a pool given, set them on that pool (got ${poolSettings.join(', ')})`,
      );
    }
    const pool =
      options.pool ??
      new pg.Pool({
        ...sessionConfig(connectionString!),
        max: options.max ?? 10,
        idleTimeoutMillis: options.idleTimeoutMillis ?? DEFAULT_IDLE_TIMEOUT_MS,
        connectionTimeoutMillis: options.connectionTimeoutMillis ?? DEFAULT_CONNECTION_TIMEOUT_MS,
      });
    if (!options.pool) pool.on('error', () => undefined); // an idle client's lost connection is replaced on demand
    const state = new LogState();
    const ours = logPool(pool, state);
    const db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: poolForKysely(ours) }),
    }).withSchema(schema);
    if (options.migrate !== false) {
      const result = await migrate(db as unknown as Kysely<unknown>, schema);
      if (result.error) {
        if (!options.pool) await pool.end();
        throw new StorageError(`migrating schema ${schema} failed: ${String(result.error)}`, {
          cause: result.error,
          connectionLost: !refusedByDatabase(result.error), // the server unreachable, say: worth a retry
        });
      }
    }
    await checkCommitKeys(pool, schema, options.pool ? undefined : () => pool.end());
    const statementSet = statements(schema);
    const context: LogContext = {
      pool: ours,
      schema,
      db,
      statements: statementSet,
      watcher: new Watcher(ours, schema),
      // The pool itself, not the log's view: notifications of appends acknowledged before close() (or that
      // commit while it drains) are still sent by its flush.
      notifier: new Notifier(pool, schema),
      pollIntervalMs: options.pollIntervalMs ?? 1000,
      state,
      groups: new AppendGroups(ours, statementSet.appendGroup, grouping),
    };
    return new EventLog(context, { pool, owned: !options.pool }, defaultBasin, {
      sweepIntervalMs: options.sweepIntervalMs ?? 30_000,
      closeTimeoutMs: options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS,
    });
  }

  /** The schema this log lives in. */
  get schema(): string {
    return this.#context.schema;
  }

  /** The underlying pool (for running migrations or read models next to the log). */
  get pool(): pg.Pool {
    return this.#pool;
  }

  /**
   * A stream of the default basin.
   *
   * @throws InvalidArgumentError for a bad stream name.
   */
  stream(name: string): Stream {
    return this.basin(this.#defaultBasin).stream(name);
  }

  /**
   * A basin handle; the basin need not exist yet (create it with `log.basins.create`).
   *
   * @throws InvalidArgumentError for a name S2 would refuse.
   */
  basin(name: string): Basin {
    return new Basin(this.#context, checkBasinName(name));
  }

  /**
   * Appends to several streams atomically: every stream gets its records or none does. Each stream's
   * conditions (`fencingToken`, then `matchSeqNum`) are checked under its row lock in the one transaction,
   * the locks taken in (basin, name) order so that concurrent multi-stream appends never deadlock. With a
   * `commandId`, the id is recorded on every stream in the same transaction, and an append whose id is
   * recorded on any of its streams writes nothing (`DuplicateCommandError`). Records are stamped on arrival.
   * Returns one ack per item, in order.
   *
   * @throws SeqNumMismatchError | FencingTokenMismatchError (naming the `stream`; nothing written),
   *   DuplicateCommandError, InvalidArgumentError (a rule broken; nothing written), StreamNotFoundError,
   *   BasinNotFoundError, StorageError (definite), IndefiniteAppendError (the outcome is unknown: resolve it
   *   with {@link lookupCommand} when a command id was given).
   * @example
   * await log.appendMany(
   *   [
   *     { stream: 'account-a', records: [{ body: '{"amount":-5}' }], matchSeqNum: 3 },
   *     { stream: 'account-b', records: [{ body: '{"amount":5}' }], matchSeqNum: 7 },
   *   ],
   *   { commandId: 'transfer-9' },
   * );
   */
  async appendMany(items: readonly AppendManyItem[], options: AppendManyOptions = {}): Promise<AppendAck[]> {
    return appendMany(this.#context, this.#defaultBasin, items, options);
  }

  /**
   * Where a command id's records landed on the given streams (default basin unless named), as recorded by
   * {@link appendMany} with that `commandId`; an empty array when it was applied to none of them.
   *
   * @throws InvalidArgumentError for a bad name; StorageError.
   * @example
   * const [range] = await log.lookupCommand('transfer-9', [{ stream: 'account-a' }]);
   */
  async lookupCommand(
    commandId: string,
    streams: readonly { basin?: string; stream: string }[],
  ): Promise<CommandRange[]> {
    const named = streams.map((s) => ({
      basin: this.#basinOf(s.basin),
      stream: checkStreamName(s.stream),
    }));
    return lookupCommand(this.#context, commandId, named);
  }

  /**
   * Reads one page of a basin's global log: its records of every stream, in an order consistent with commit
   * order (see README, "The global log and consumers"), after `after` (default: the start). Each record has
   * its stream's name, seqNum and a cursor; the batch's `cursor` continues the read.
   *
   * @throws InvalidArgumentError for a bad cursor, count (1–10,000) or filter; StorageError.
   * @example
   * let { records, cursor } = await log.readAll({ count: 500, filter: { streamPrefix: 'orders-' } });
   * ({ records, cursor } = await log.readAll({ after: cursor }));
   */
  async readAll<A extends ReadAs = 'string'>(
    options: ReadAllOptions<A> = {},
  ): Promise<ReadAllBatch<A extends 'bytes' ? Uint8Array : string>> {
    return readAll(this.#context, this.#basinOf(options.basin), options);
  }

  /**
   * Follows a basin's global log: catches up from `after` (default: the start), then delivers records as
   * their transactions commit and the horizon passes them, until `signal` aborts or the log closes. A lost
   * connection is retried from the last record delivered: no gap, no duplicate. A horizon held back by an open
   * transaction is reported (`onStalled`, default a console.warn line), never skipped.
   *
   * @throws InvalidArgumentError (at once) for a bad cursor or filter; (while iterating) StorageError when the
   *   database refuses a read (`connectionLost` false), BasinNotFoundError.
   * @example
   * for await (const record of log.followAll({ after: saved, signal })) handle(record.stream, record.seqNum);
   */
  followAll<A extends ReadAs = 'string'>(
    options: FollowAllOptions<A> = {},
  ): AsyncIterable<GlobalRecord<A extends 'bytes' ? Uint8Array : string>> {
    return followAll(this.#context, this.#basinOf(options.basin), options);
  }

  /**
   * The cluster's commit horizon and the open transaction holding it (pid, state, age), if any.
   *
   * @throws StorageError.
   * @example
   * const { horizon, heldBy } = await log.horizon();
   * if (heldBy && heldBy.ageMs! > 60_000) console.warn(`pid ${heldBy.pid} holds the global log back`);
   */
  async horizon(): Promise<HorizonReport> {
    assertOpen(this.#context);
    return horizonReport(this.#context);
  }

  /**
   * A named durable consumer of a basin's global log; its checkpoint lives in Postgres (created on first run).
   *
   * @throws InvalidArgumentError for a bad name or options.
   * @example
   * await log.consumer('billing', { filter: { streamPrefix: 'orders-' } }).run(async (batch, trx) => {
   *   for (const r of batch.records) await trx.insertInto('invoices').values({ ... }).execute();
   * }, { signal });
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- handlers' tables are the user's to type
  consumer<DB = any>(name: string, options: ConsumerOptions = {}): Consumer<DB> {
    return new Consumer<DB>(this.#context, this.#basinOf(options.basin), name, options);
  }

  #basinOf(basin: string | undefined): string {
    return basin === undefined ? this.#defaultBasin : checkBasinName(basin);
  }

  /**
   * Sweeps now, all of it, instead of waiting for the background sweep: applies every stream's retention and
   * deleteOnEmpty, then deletes records below each stream's trim point (after a background run in progress,
   * if any). Returns how many records were deleted.
   *
   * @throws StorageError.
   */
  async sweep(): Promise<number> {
    return this.#sweeper.sweep();
  }

  /**
   * Closes the log, and ends the pool if fencepost made it. At once: new operations fail with ClosedError, and
   * so do those still waiting for a pooled connection (nothing of theirs was written); followers, waiting
   * reads and consumers at the tail end (follows and consumers normally, a waiting read with ClosedError); the
   * sweep stops; the LISTEN connection is closed. Statements already running go on for up to `closeTimeoutMs`
   * (default 5 s), and the pool is ended once they are done. Those still running then are cut off: their
   * connections are closed, so an append among them fails with IndefiniteAppendError. Resolves when all of
   * that is done; never rejects. Idempotent: a second call waits for the first.
   *
   * @example
   * process.once('SIGTERM', () => void log.close());
   */
  async close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const { state, watcher, notifier } = this.#context;
    state.close();
    const sweep = this.#sweeper.stop();
    await watcher.close();
    await state.drain(this.#closeTimeoutMs);
    await sweep;
    // The last notifications (of appends acknowledged before close, or committed while it drained) go out,
    // unless the server does not answer within the close timeout: followers elsewhere then poll.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#closeTimeoutMs)));
    await Promise.race([notifier.flush(), timeout]);
    clearTimeout(timer);
    if (this.#ownsPool) await this.#pool.end().catch(() => undefined);
  }
}

function statements(schema: string): Statements {
  const name = (role: string) => ({ name: statementName(schema, role) });
  return {
    appendOne: {
      update: { ...name('append-one'), text: appendOneStatement(schema, 'update') },
      create: { ...name('create-one'), text: appendOneStatement(schema, 'create') },
    },
    appendGroup: { ...name('append-group'), text: appendGroupStatement(schema) },
    append: {
      update: {
        arrival: { ...name('append-arrival'), text: appendStatement(schema, 'update', 'arrival') },
        client: { ...name('append-client'), text: appendStatement(schema, 'update', 'client') },
      },
      create: {
        arrival: { ...name('create-arrival'), text: appendStatement(schema, 'create', 'arrival') },
        client: { ...name('create-client'), text: appendStatement(schema, 'create', 'client') },
      },
    },
    state: { ...name('state'), text: stateStatement(schema) },
    appendMany: { ...name('append-many'), text: appendManyStatement(schema) },
    appendManyCreate: { ...name('append-many-create'), text: appendManyCreateStatement(schema) },
    appendManyOne: { ...name('append-many-one'), text: appendManyOneStatement(schema) },
    appendOneCommand: {
      update: { ...name('append-many-record'), text: appendOneCommandStatement(schema, 'update') },
      create: { ...name('append-many-create-record'), text: appendOneCommandStatement(schema, 'create') },
    },
    createStreams: { ...name('create-streams'), text: createStreamsStatement(schema) },
    lookupCommand: { ...name('lookup-command'), text: lookupCommandStatement(schema) },
    read: { ...name('read'), text: readStatement(schema) },
    seekTimestamp: { ...name('seek-timestamp'), text: seekTimestampStatement(schema) },
  };
}

/**
 * The group commit's settings from `ConnectOptions.groupAppends`; off is no limit on lone statements.
 *
 * @throws InvalidArgumentError naming the setting and the rule.
 */
function groupingSettings(value: unknown): GroupingSettings {
  if (value === false) return { ...DEFAULT_GROUPING, concurrency: Infinity };
  const parsed = groupAppendsSchema.optional().safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidArgumentError(
      `EventLog.connect: ${['groupAppends', ...issue.path].join('.')}: ${issue.message} (groupAppends is false or { concurrency?, maxAppends?, stallMs? })`,
    );
  }
  const option = parsed.data;
  return {
    concurrency: option?.concurrency ?? DEFAULT_GROUPING.concurrency,
    maxAppends: option?.maxAppends ?? DEFAULT_GROUPING.maxAppends,
    stallMs: option?.stallMs ?? DEFAULT_GROUPING.stallMs,
  };
}

/** The options that configure the pool fencepost makes, refused alongside a pool of the caller's. */
const POOL_SETTINGS = ['max', 'idleTimeoutMillis', 'connectionTimeoutMillis'] as const;
/** How long a connection of a pool fencepost makes may sit idle (see `ConnectOptions.idleTimeoutMillis`). */
const DEFAULT_IDLE_TIMEOUT_MS = 300_000;
/** How long an operation waits for a pooled connection (see `ConnectOptions.connectionTimeoutMillis`). */
const DEFAULT_CONNECTION_TIMEOUT_MS = 30_000;
/** How long `close()` lets statements in flight run on (see `ConnectOptions.closeTimeoutMs`). */
const DEFAULT_CLOSE_TIMEOUT_MS = 5000;

/**
 * Session options for the pools fencepost makes: generic plans from the first execution. Postgres otherwise
 * plans a prepared statement afresh for each of its first five executions on every connection, and the
 * append and read statements cost more to plan than to run (measured: a 2000-record page took about 7 ms on
 * a connection's first executions against 2.4 ms with its generic plan). And no JIT compilation: a generic
 * plan's cost is estimated without its parameters' values, and past `jit_above_cost` every execution of a
 * sub-millisecond read paid about 230 ms to compile (measured on the global read). Options already in the
 * connection string are kept: they move into `options`, since pg lets a connection string's `options`
 * replace the pool's.
 */
function sessionConfig(connectionString: string): { connectionString: string; options: string } {
  const ours = '-c plan_cache_mode=force_generic_plan -c jit=off';
  let url: URL;
  try {
    url = new URL(connectionString);
  } catch {
    return { connectionString, options: ours }; // not a URL (key=value pairs, say): nothing given to move
  }
  const given = url.searchParams.get('options');
  if (given === null) return { connectionString, options: ours };
  url.searchParams.delete('options');
  return { connectionString: url.toString(), options: `${given} ${ours}` };
}

/**
 * The pool as Kysely sees it: clients checked out with an error listener (see connectClient) and released as
 * broken once a statement lost their connection (see dropWhenLost), and no `end`, since Kysely ends its pool
 * when destroyed and fencepost ends the pool itself, only when it owns it.
 */
export function poolForKysely(pool: pg.Pool): pg.Pool {
  return new Proxy(pool, {
    get(target, property, receiver) {
      if (property === 'end') return async () => undefined;
      if (property === 'connect') return () => connectClient(target).then(dropWhenLost);
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * Has the client released as broken, so that the pool drops it, when one of its statements failed without an
 * answer from the database (the connection was lost), as runQuery does. Kysely releases its clients without
 * an error, and a client whose backend was terminated still looks usable while the server's FATAL and the
 * socket's end are being processed: the pool handed it to the next caller, whose statement failed too.
 */
function dropWhenLost(client: pg.PoolClient): pg.PoolClient {
  let lost: Error | undefined;
  const query = client.query;
  const release = client.release;
  client.query = function (this: pg.PoolClient, ...args: unknown[]) {
    const result = (query as (...a: unknown[]) => unknown).apply(this, args);
    if (result instanceof Promise) {
      result.catch((error: unknown) => {
        if (!refusedByDatabase(error)) lost = error instanceof Error ? error : new Error(String(error));
      });
    }
    return result;
  } as typeof client.query;
  client.release = (failure?: Error | boolean) => {
    client.query = query;
    client.release = release;
    release.call(client, failure || lost); // Kysely passes false unless it discarded the client itself
  };
  return client;
}
