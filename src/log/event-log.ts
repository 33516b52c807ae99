import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import { migrate } from '../db/migrate.js';
import type { Database } from '../db/tables.js';
import { appendStatement } from './append-batch-statement.js';
import { appendOneStatement } from './append-one-statement.js';
import { appendGroupStatement } from './append-group-statement.js';
import { AppendGroups } from './append-groups.js';
import { connectSettings, type ConnectOptions } from './connect-options.js';
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
import { Basins } from './basins.js';
import { StorageError } from './errors.js';
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
    const settings = connectSettings(options);
    const { schema, defaultBasin } = settings;
    const pool = options.pool ?? new pg.Pool(settings.poolConfig);
    if (!options.pool) pool.on('error', () => undefined); // an idle client's lost connection is replaced on demand
    const state = new LogState();
    const ours = logPool(pool, state);
    const db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: poolForKysely(ours) }),
    }).withSchema(schema);
    if (settings.migrate) {
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
      pollIntervalMs: settings.pollIntervalMs,
      state,
      groups: new AppendGroups(ours, statementSet.appendGroup, settings.grouping),
    };
    return new EventLog(context, { pool, owned: !options.pool }, defaultBasin, {
      sweepIntervalMs: settings.sweepIntervalMs,
      closeTimeoutMs: settings.closeTimeoutMs,
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
