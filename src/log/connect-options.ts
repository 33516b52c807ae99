import pg from 'pg';
import { z } from 'zod';
import { checkSchemaName, DEFAULT_SCHEMA } from '../db/schema-name.js';
import { DEFAULT_GROUPING, type GroupingSettings } from './append-groups.js';
import { DEFAULT_BASIN } from './basins.js';
import { InvalidArgumentError } from './errors.js';
import { checkBasinName } from './names.js';

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
   * 5000; see `EventLog.close`).
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

/** What `EventLog.connect` makes of its options: each checked, defaults filled in. Internal. */
export interface ConnectSettings {
  schema: string;
  defaultBasin: string;
  /** The pool to make; undefined when one was given. */
  poolConfig: pg.PoolConfig | undefined;
  migrate: boolean;
  sweepIntervalMs: number;
  pollIntervalMs: number;
  closeTimeoutMs: number;
  grouping: GroupingSettings;
}

/**
 * Checks `EventLog.connect`'s options and fills in the defaults, before anything is connected.
 *
 * @throws InvalidArgumentError naming the option, the rule and the value.
 */
export function connectSettings(options: ConnectOptions): ConnectSettings {
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
  return {
    schema,
    defaultBasin,
    poolConfig: options.pool
      ? undefined
      : {
          ...sessionConfig(connectionString!),
          max: options.max ?? 10,
          idleTimeoutMillis: options.idleTimeoutMillis ?? DEFAULT_IDLE_TIMEOUT_MS,
          connectionTimeoutMillis: options.connectionTimeoutMillis ?? DEFAULT_CONNECTION_TIMEOUT_MS,
        },
    migrate: options.migrate !== false,
    sweepIntervalMs: options.sweepIntervalMs ?? 30_000,
    pollIntervalMs: options.pollIntervalMs ?? 1000,
    closeTimeoutMs: options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS,
    grouping,
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
