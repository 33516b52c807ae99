import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventLog } from '../../src/index.js';
import { eventually } from '../support/assertions.js';
import { uniqueName, useEventLog } from '../support/event-log.js';
import { testPool } from '../support/database.js';
import { followNewStream } from '../support/follow-new-stream.js';

const fixture = useEventLog();
let admin: pg.Pool;
beforeAll(() => {
  admin = testPool(fixture.connectionString);
});
afterAll(() => admin.end());

/** A connection string naming the application, so that its backends can be found in pg_stat_activity. */
function as(applicationName: string): string {
  const url = new URL(fixture.connectionString);
  url.searchParams.set('application_name', applicationName);
  return url.toString();
}

/**
 * The pids of the backends of `applicationName` that LISTEN (or run LISTEN: with `done`, only those whose
 * LISTEN has ended, so that a connection terminated then is one that was listening, not one still being made).
 */
async function listeners(applicationName: string, done = false): Promise<number[]> {
  const { rows } = await admin.query<{ pid: number }>(
    `select pid from pg_stat_activity where application_name = $1 and query like 'listen %'
       and (not $2 or state = 'idle')`,
    [applicationName, done],
  );
  return rows.map((row) => row.pid);
}

/** Settles `promise` into a value: the result or the error. */
function outcome<T>(promise: Promise<T>): { value: 'pending' | { ok: T } | { error: unknown } } {
  const state: { value: 'pending' | { ok: T } | { error: unknown } } = { value: 'pending' };
  promise.then(
    (ok) => (state.value = { ok }),
    (error: unknown) => (state.value = { error }),
  );
  return state;
}

describe('the LISTEN connection', () => {
  it('is not taken from the pool: with max 1, a waiting read returns and appends go on meanwhile', async () => {
    const log = await fixture.connect({ max: 1 });
    const name = uniqueName('max1');
    const stream = log.stream(name);
    await stream.append([{ body: 'a' }]);
    // A read that waits makes the log LISTEN; with the LISTEN connection from the pool, the pool's only
    // connection would be gone for good.
    const empty = outcome(stream.read({ seqNum: 1, wait: 1 }));
    await eventually(() => empty.value !== 'pending', 'the read to return after its 1 s wait', 5000);
    expect(empty.value).toMatchObject({ ok: { records: [] } });
    const waiting = outcome(stream.read({ seqNum: 1, wait: 10 }));
    const appended = outcome(stream.append([{ body: 'b' }]));
    await eventually(() => appended.value !== 'pending', 'the append to be acknowledged', 5000);
    expect(appended.value).toMatchObject({ ok: { start: { seqNum: 1 } } });
    await eventually(() => waiting.value !== 'pending', 'the waiting read to get the record', 5000);
    expect(waiting.value).toMatchObject({ ok: { records: [{ seqNum: 1, body: 'b' }] } });
  });

  it('is a connection of its own, made with the options of a pool given by the caller, and closed by close()', async () => {
    const app = uniqueName('fp-listen-given');
    const pool = testPool(as(app), 2);
    let log: EventLog | undefined;
    try {
      log = await EventLog.connect({ pool, sweepIntervalMs: 0 });
      const name = uniqueName('given');
      await log.stream(name).append([{ body: 'a' }]);
      const waiting = outcome(log.stream(name).read({ seqNum: 1, wait: 10 }));
      await eventually(async () => (await listeners(app)).length === 1, 'the log to LISTEN');
      // While the read waits, the pool's connections are all idle: none of them is the LISTEN connection.
      await eventually(
        () => pool.totalCount > 0 && pool.totalCount === pool.idleCount,
        'every pooled connection to be idle',
      );
      expect(await listeners(app)).toHaveLength(1);
      expect(waiting.value).toBe('pending');
      await log.stream(name).append([{ body: 'b' }]);
      await eventually(() => waiting.value !== 'pending', 'the waiting read');
      await log.close();
      expect(await listeners(app)).toEqual([]);
      expect(pool.ended).toBe(false);
    } finally {
      await log?.close();
      await pool.end();
    }
  });

  it('is tried again soon after an attempt failed, not at the next poll', async () => {
    const app = uniqueName('fp-listen-retry');
    let refused = false;
    /** A client whose first LISTEN (of all its kind) fails, as one cut off before its LISTEN ended would. */
    class RefusingOnce extends pg.Client {
      constructor(config?: string | pg.ClientConfig) {
        super(config);
        const query = this.query.bind(this) as (config: unknown, ...rest: unknown[]) => unknown;
        (this as { query: unknown }).query = (config: unknown, ...rest: unknown[]) => {
          if (!refused && typeof config === 'string' && config.startsWith('listen ')) {
            refused = true;
            return Promise.reject(new Error('LISTEN refused by the test'));
          }
          return query(config, ...rest);
        };
      }
    }
    const pool = new pg.Pool({ connectionString: as(app), max: 4, Client: RefusingOnce });
    pool.on('error', () => undefined);
    // Polling is set to a minute: within the deadlines below, only a new LISTEN and its notifications deliver.
    const follower = await EventLog.connect({ pool, pollIntervalMs: 60_000, sweepIntervalMs: 0 });
    const writer = await fixture.connect({ max: 2 });
    const { name, seen, stop } = await followNewStream(follower, writer, 'retry');
    try {
      await eventually(() => seen.length === 1, 'the catch-up');
      await eventually(() => refused, 'the first LISTEN to be refused');
      await eventually(
        async () => (await listeners(app, true)).length === 1,
        'LISTEN on a new connection',
        5000,
      );
      await writer.stream(name).append([{ body: 'r1' }]);
      await eventually(() => seen.length === 2, 'the record to arrive by notification', 5000);
      expect(seen).toEqual([0, 1]);
    } finally {
      await stop();
      await follower.close();
      await pool.end();
    }
  });

  it('wakes followers when lost, and is made again: appends elsewhere then wake them by notification', async () => {
    const app = uniqueName('fp-listen-lost');
    // Polling is set to a minute: within the deadlines below, only notifications and wake-ups deliver.
    const follower = await fixture.connect({ connectionString: as(app), max: 4, pollIntervalMs: 60_000 });
    const writer = await fixture.connect({ max: 2 });
    const { name, seen, stop } = await followNewStream(follower, writer, 'lost');
    try {
      await eventually(() => seen.length === 1, 'the catch-up');
      // Terminated while its LISTEN still ran, the connection would be a failed attempt, not a lost listener: the
      // follower then polls (here once a minute) until its next wait listens again.
      const [first] = await eventually(async () => {
        const pids = await listeners(app, true);
        return pids.length === 1 && pids;
      }, 'the follower to LISTEN');
      await admin.query('select pg_terminate_backend($1)', [first]);
      await eventually(async () => {
        const pids = await listeners(app);
        return pids.length === 1 && pids[0] !== first;
      }, 'a new LISTEN connection');
      for (let i = 1; i <= 3; i++) {
        await writer.stream(name).append([{ body: `r${i}` }]);
        await eventually(() => seen.length === i + 1, `record ${i} to arrive by notification`);
      }
      expect(seen).toEqual([0, 1, 2, 3]);
    } finally {
      await stop();
    }
  });
});
