import type pg from 'pg';
import type { Kysely } from 'kysely';
import type { Database } from '../db/tables.js';
import type { Watcher } from './watcher.js';
import { ClosedError } from './errors.js';

/** What every stream and basin handle of one EventLog shares. Internal. */
export interface LogContext {
  readonly pool: pg.Pool;
  readonly schema: string;
  readonly db: Kysely<Database>;
  readonly statements: Statements;
  readonly watcher: Watcher;
  readonly state: { closed: boolean };
}

export interface Statement {
  name: string;
  text: string;
}

export interface Statements {
  append: Statement;
  appendOne: Statement;
  createOne: Statement;
  create: Statement;
  state: Statement;
  read: Statement;
  seekTimestamp: Statement;
}

/** @throws ClosedError once the log is closed. */
export function assertOpen(context: LogContext): void {
  if (context.state.closed) throw new ClosedError();
}
