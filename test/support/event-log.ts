/**
 * An EventLog on the test file's own database, connected before the file's tests and closed after them.
 *
 * ```ts
 * const fixture = useEventLog();
 * it('appends', async () => {
 *   await fixture.log.stream('s').append([{ body: 'a' }]);
 * });
 * ```
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { EventLog, type ConnectOptions } from '../../src/index.js';
import { useTestDatabase } from './database.js';

export interface EventLogFixture {
  /** The connected log; throws outside the file's tests and hooks. */
  readonly log: EventLog;
  readonly connectionString: string;
  /** Connects another EventLog to the same database (closed after the file's tests). */
  connect(options?: ConnectOptions): Promise<EventLog>;
}

export function useEventLog(options: ConnectOptions = {}): EventLogFixture {
  const database = useTestDatabase();
  let log: EventLog | undefined;
  const extra: EventLog[] = [];
  const connect = async (more: ConnectOptions = {}) => {
    const connected = await EventLog.connect({
      connectionString: database.connectionString,
      max: 20,
      sweepIntervalMs: 0,
      ...options,
      ...more,
    });
    extra.push(connected);
    return connected;
  };
  beforeAll(async () => {
    log = await connect();
  });
  afterAll(async () => {
    await Promise.all(extra.map((l) => l.close()));
    log = undefined;
  });
  return {
    get log() {
      if (!log) throw new Error('useEventLog(): the log exists only inside the test file');
      return log;
    },
    get connectionString() {
      return database.connectionString;
    },
    connect,
  };
}

let counter = 0;
/** A stream name unique within the test run. */
export function uniqueName(prefix = 'stream'): string {
  return `${prefix}-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A schema name unique within the test run: `label`, then random hex (a-z, 0-9 and "_" only). */
export function uniqueSchema(label: string): string {
  return `${label}_${randomBytes(4).toString('hex')}`;
}
