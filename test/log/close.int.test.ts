import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClosedError, EventLog, IndefiniteAppendError, type Stream } from '../../src/index.js';
import { eventually } from '../support/assertions.js';
import { uniqueName, useEventLog } from '../support/event-log.js';
import { testPool } from '../support/database.js';
import { TcpProxy } from '../support/tcp-proxy.js';

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
 * A pool of the test's own (given to `EventLog.connect`) that counts every checkout asked of it, and those
 * that failed (counted just before the caller learns of the failure).
 */
function countingPool(connectionString: string, max = 4) {
  const pool = testPool(connectionString, max);
  let checkouts = 0;
  let failures = 0;
  const connect = pool.connect.bind(pool) as (...args: unknown[]) => unknown;
  (pool as unknown as { connect: unknown }).connect = (...args: unknown[]) => {
    checkouts++;
    const [callback] = args;
    if (typeof callback === 'function') {
      args[0] = (error: unknown, ...rest: unknown[]) => {
        if (error) failures++;
        return (callback as (...a: unknown[]) => unknown)(error, ...rest);
      };
    }
    return connect(...args);
  };
  return {
    pool,
    get checkouts() {
      return checkouts;
    },
    get failures() {
      return failures;
    },
  };
}

/** Follows `stream` from its start (or the log's global log) in the background; `ended` says how it ended. */
function followInBackground(from: Stream | EventLog) {
  const seen: number[] = [];
  let ended: 'no' | 'returned' | { error: unknown } = 'no';
  const controller = new AbortController();
  const { signal } = controller;
  const records = from instanceof EventLog ? from.followAll({ signal }) : from.follow({ seqNum: 0, signal });
  const done = (async () => {
    try {
      for await (const record of records) seen.push(record.seqNum);
      ended = 'returned';
    } catch (error) {
      ended = { error };
    }
  })();
  return {
    seen,
    get ended() {
      return ended;
    },
    stop: async () => {
      controller.abort();
      await done;
    },
  };
}

/** Waits until a backend of `applicationName` LISTENs: a follower of that log has reached the tail. */
async function listening(applicationName: string): Promise<void> {
  await eventually(async () => {
    const { rows } = await admin.query(
      `select 1 from pg_stat_activity where application_name = $1 and query like 'listen %'`,
      [applicationName],
    );
    return rows.length > 0;
  }, `a backend of ${applicationName} to LISTEN`);
}

/** Settles `promise` into a value: 'ok' or the error. */
function outcome(promise: Promise<unknown>): { value: 'pending' | 'ok' | { error: unknown } } {
  const state: { value: 'pending' | 'ok' | { error: unknown } } = { value: 'pending' };
  promise.then(
    () => (state.value = 'ok'),
    (error: unknown) => (state.value = { error }),
  );
  return state;
}

describe('EventLog.close() with work in flight', () => {
  it('ends a follower waiting at the tail, and then ends the pool it made', async () => {
    const app = uniqueName('fp-close-owned');
    const log = await fixture.connect({ connectionString: as(app) });
    const name = uniqueName('close-follow');
    await log.stream(name).append([{ body: 'a' }]);
    const follower = followInBackground(log.stream(name));
    await eventually(() => follower.seen.length === 1, 'the catch-up');
    await listening(app);
    const closing = outcome(log.close());
    await eventually(() => closing.value !== 'pending', 'close() to resolve');
    expect(closing.value).toBe('ok');
    await eventually(() => follower.ended !== 'no', 'the follower to end');
    expect(follower.ended).toBe('returned');
    expect(log.pool.ended).toBe(true);
    await follower.stop();
  });

  it('settles every append waiting for a pooled connection: acknowledged, or ClosedError and nothing written', async () => {
    const log = await fixture.connect({ max: 2 });
    const prefix = uniqueName('queued');
    await log.stream(`${prefix}-warm`).append([{ body: 'warm' }]);
    const appends = Array.from({ length: 20 }, (_, i) =>
      outcome(log.stream(`${prefix}-${i}`).append([{ body: `r${i}` }])),
    );
    await eventually(() => log.pool.waitingCount > 0, 'appends to wait for a connection');
    const closing = outcome(log.close());
    await eventually(() => appends.every((a) => a.value !== 'pending'), 'every append to settle', 5000);
    await eventually(() => closing.value !== 'pending', 'close() to resolve');
    expect(closing.value).toBe('ok');
    const refused = appends.filter((a) => a.value !== 'ok');
    expect(refused.length).toBeGreaterThan(0);
    for (const a of refused) expect((a.value as { error: unknown }).error).toBeInstanceOf(ClosedError);
    // Acknowledged appends are there; refused ones wrote nothing.
    for (let i = 0; i < appends.length; i++) {
      const tail = await fixture.log
        .stream(`${prefix}-${i}`)
        .checkTail()
        .then(
          (t) => t.seqNum,
          () => 0,
        ); // never created
      expect(tail).toBe(appends[i]!.value === 'ok' ? 1 : 0);
    }
  });

  it('with a pool of the caller: ends a follower at the tail, and checks out nothing more', async () => {
    const app = uniqueName('fp-close-given');
    const counted = countingPool(as(app));
    try {
      const log = await EventLog.connect({ pool: counted.pool, sweepIntervalMs: 0 });
      const name = uniqueName('close-given');
      await log.stream(name).append([{ body: 'a' }]);
      const follower = followInBackground(log.stream(name));
      await eventually(() => follower.seen.length === 1, 'the catch-up');
      await listening(app);
      await log.close();
      const atClose = counted.checkouts;
      await eventually(() => follower.ended !== 'no', 'the follower to end');
      expect(follower.ended).toBe('returned');
      expect(counted.checkouts - atClose).toBe(0);
      // The caller's pool is left open, with nothing of the log's checked out or waiting.
      expect(counted.pool.ended).toBe(false);
      expect(counted.pool.waitingCount).toBe(0);
      expect(counted.pool.idleCount).toBe(counted.pool.totalCount);
      await follower.stop();
    } finally {
      await counted.pool.end();
    }
  });

  it('with a pool of the caller: ends a followAll at the horizon, and checks out nothing more', async () => {
    const app = uniqueName('fp-close-all');
    const basin = uniqueName('basin');
    await fixture.log.basins.create({ basin, config: { createStreamOnAppend: true } });
    const counted = countingPool(as(app));
    const log = await EventLog.connect({ pool: counted.pool, sweepIntervalMs: 0, basin });
    try {
      await log.stream(uniqueName('close-all')).append([{ body: 'a' }]);
      const follower = followInBackground(log);
      await eventually(() => follower.seen.length === 1, 'the catch-up');
      // Idle at the horizon, it LISTENs and marks its basin watched.
      await listening(app);
      await log.close();
      const atClose = counted.checkouts;
      await eventually(() => follower.ended !== 'no', 'the followAll to end');
      expect(follower.ended).toBe('returned');
      expect(counted.checkouts - atClose).toBe(0);
      await follower.stop();
    } finally {
      await log.close();
      await counted.pool.end();
    }
  });

  it('ends a follower backing off from a lost connection at once, not when its backoff ends', async () => {
    const proxy = await TcpProxy.start(fixture.connectionString);
    const counted = countingPool(proxy.connectionString);
    const log = await EventLog.connect({ pool: counted.pool, sweepIntervalMs: 0 });
    try {
      const name = uniqueName('close-backoff');
      await log.stream(name).append([{ body: 'a' }]);
      const follower = followInBackground(log.stream(name));
      await eventually(() => follower.seen.length === 1, 'the catch-up');
      // The database goes out of reach: every read fails, and the follower backs off longer each time.
      await proxy.close();
      await eventually(() => counted.failures >= 7, 'the follower to fail 7 reads', 15_000);
      // Its 7th failure has just begun a 2 s backoff (the 6th one's was 1.6 s).
      await log.close();
      await eventually(() => follower.ended !== 'no', 'the follower to end before its backoff does', 1000);
      expect(follower.ended).toBe('returned');
    } finally {
      await log.close();
      await counted.pool.end();
      await proxy.close();
    }
  });

  it('with a pool of the caller: fails a read waiting for records with ClosedError at once', async () => {
    const app = uniqueName('fp-close-wait');
    const counted = countingPool(as(app));
    try {
      const log = await EventLog.connect({ pool: counted.pool, sweepIntervalMs: 0 });
      const name = uniqueName('close-wait');
      await log.stream(name).append([{ body: 'a' }]);
      // It would wait 30 s; the deadline below is far shorter.
      const reading = outcome(log.stream(name).read({ seqNum: 1, wait: 30 }));
      await listening(app);
      await log.close();
      const atClose = counted.checkouts;
      await eventually(() => reading.value !== 'pending', 'the waiting read to settle', 5000);
      expect((reading.value as { error: unknown }).error).toBeInstanceOf(ClosedError);
      expect(counted.checkouts - atClose).toBe(0);
    } finally {
      await counted.pool.end();
    }
  });

  it('waits for an append running on a connection, then ends the pool', async () => {
    const app = uniqueName('fp-close-running');
    const log = await fixture.connect({ connectionString: as(app) });
    const name = uniqueName('close-running');
    await log.stream(name).append([{ body: 'first' }]);
    const blocker = await admin.connect();
    try {
      await blocker.query('begin');
      await blocker.query(`select 1 from fencepost.streams where name = $1 for update`, [name]);
      const append = outcome(log.stream(name).append([{ body: 'second' }], { matchSeqNum: 1 }));
      await lockWaiter(app);
      const closing = outcome(log.close());
      await blocker.query('rollback');
      await eventually(() => closing.value !== 'pending', 'close() to resolve');
      // The append had its connection: close() let it finish before ending the pool.
      expect(append.value).toBe('ok');
      expect(log.pool.ended).toBe(true);
    } finally {
      blocker.release();
    }
    const { records } = await fixture.log.stream(name).read({ seqNum: 0 });
    expect(records.map((r) => r.body)).toEqual(['first', 'second']);
  });

  it('cuts off a statement still running after closeTimeoutMs: its append fails as indefinite', async () => {
    const app = uniqueName('fp-close-stuck');
    const log = await fixture.connect({ connectionString: as(app), closeTimeoutMs: 200 });
    const name = uniqueName('close-stuck');
    await log.stream(name).append([{ body: 'first' }]);
    const blocker = await admin.connect();
    try {
      await blocker.query('begin');
      await blocker.query(`select 1 from fencepost.streams where name = $1 for update`, [name]);
      const append = outcome(log.stream(name).append([{ body: 'second' }], { matchSeqNum: 1 }));
      await lockWaiter(app);
      const closing = outcome(log.close());
      // The lock is held throughout: only the cut-off can end the append.
      await eventually(() => closing.value !== 'pending', 'close() to resolve', 5000);
      expect(closing.value).toBe('ok');
      await eventually(() => append.value !== 'pending', 'the append to settle');
      expect((append.value as { error: unknown }).error).toBeInstanceOf(IndefiniteAppendError);
      expect(log.pool.ended).toBe(true);
    } finally {
      await blocker.query('rollback');
      blocker.release();
    }
  });
});

describe('EventLog.close() and notifications', () => {
  it('settles while the LISTEN connection is being made to a server that does not answer', async () => {
    const proxy = await TcpProxy.start(fixture.connectionString);
    // One pooled connection, made before the server stops answering: the only new connection after that is
    // the LISTEN client's (it is not the pool's).
    const log = await fixture.connect({
      connectionString: proxy.connectionString,
      max: 1,
      closeTimeoutMs: 500,
    });
    try {
      const stream = log.stream(uniqueName('listen-stalled'));
      await stream.append([{ body: 'a' }]);
      proxy.stallNewConnections = true;
      const read = stream.read({ seqNum: 1, wait: 5 }).catch((error: unknown) => error);
      await eventually(() => proxy.stalledWithData > 0, 'the LISTEN connection to be under way');
      const closing = outcome(log.close());
      await eventually(() => closing.value !== 'pending', 'close() to settle', 5000);
      expect(closing.value).toBe('ok');
      expect(await read).toBeInstanceOf(ClosedError);
    } finally {
      await proxy.close();
    }
  });

  it('sends the notification of an append acknowledged right before close()', async () => {
    const writer = await fixture.connect();
    const reader = await fixture.connect({ pollIntervalMs: 60_000 }); // only a notification comes in time
    const name = uniqueName('notified');
    await writer.stream(name).append([{ body: 'a' }]);
    const waiting = reader.stream(name).read({ seqNum: 1, wait: 30 });
    // The reader listens before it marks the stream watched: once marked, a notification reaches it.
    await eventually(async () => {
      const { rows } = await admin.query(
        `select watched_until > clock_timestamp() as watched from "${writer.schema}".streams where name = $1`,
        [name],
      );
      return rows[0]?.watched === true;
    }, 'the stream to be watched');
    const started = Date.now();
    await writer.stream(name).append([{ body: 'b' }]);
    await writer.close();
    expect((await waiting).records.map((r) => r.body)).toEqual(['b']);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

/** Waits until a backend of `applicationName` waits for a lock. */
async function lockWaiter(applicationName: string): Promise<void> {
  await eventually(async () => {
    const { rows } = await admin.query(
      `select 1 from pg_stat_activity where application_name = $1 and wait_event_type = 'Lock'`,
      [applicationName],
    );
    return rows.length > 0;
  }, 'the append to wait for the row lock');
}
