import type pg from 'pg';
import type { Kysely } from 'kysely';
import type { Database } from '../db/tables.js';
import type { Notifier } from './notifier.js';
import type { Watcher } from './watcher.js';
import type { Stamping } from './append-batch-statement.js';
import { ClosedError } from './errors.js';
import type { LogState } from './log-state.js';
import type { AppendGroups } from './append-groups.js';

/** What every stream and basin handle of one EventLog shares. Internal. */
export interface LogContext {
  /** The log's pool, its checkouts going through `state` (see log-pool.ts). */
  readonly pool: pg.Pool;
  readonly schema: string;
  readonly db: Kysely<Database>;
  readonly statements: Statements;
  readonly watcher: Watcher;
  readonly notifier: Notifier;
  /** How long a follower at the tail waits without a wake-up before it looks again. */
  readonly pollIntervalMs: number;
  /** Open or closed, and the checkouts that closing settles. */
  readonly state: LogState;
  /** Concurrent single-record appends sharing statements. */
  readonly groups: AppendGroups;
}

export interface Statement {
  name: string;
  text: string;
}

/** An append's first step: update the stream row, or create the stream (when the append expects it empty). */
export type Head = 'update' | 'create';

export interface Statements {
  appendOne: Record<Head, Statement>;
  appendGroup: Statement;
  append: Record<Head, Record<Stamping, Statement>>;
  state: Statement;
  appendMany: Statement;
  appendManyCreate: Statement;
  appendManyOne: Statement;
  appendOneCommand: Record<Head, Statement>;
  createStreams: Statement;
  lookupCommand: Statement;
  read: Statement;
  seekTimestamp: Statement;
}

const contexts = new WeakMap<object, LogContext>();

/** Makes a log's context known to {@link contextOf}: the EventLog calls it once, when it is made. Internal. */
export function registerContext(log: object, context: LogContext): void {
  contexts.set(log, context);
}

/**
 * The context of an EventLog, for fencepost's layers above the log (aggregates, commands): their statements
 * check out through the log's pool view, so that `close()` settles them with the log's own. Internal.
 */
export function contextOf(log: object): LogContext {
  const context = contexts.get(log);
  if (!context) throw new Error('fencepost: not an EventLog made by EventLog.connect');
  return context;
}

/** @throws ClosedError once the log is closed. */
export function assertOpen(context: LogContext): void {
  if (context.state.closed) throw new ClosedError();
}

/** What an append statement says of each stream it wrote to: its id, and whether its row is marked watched. */
export interface Written {
  stream_id: number;
  watched: boolean;
}

/**
 * After an append committed: wakes this process's followers of the stream, and has followers elsewhere
 * notified when they watch the stream or its basin.
 */
export function appended(context: LogContext, basin: string, stream: string, written: Written): void {
  context.watcher.appended(basin, stream);
  context.notifier.appended(basin, written.stream_id, written.watched);
}
