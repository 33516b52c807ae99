import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventLog, StorageError } from '../../src/index.js';
import { eventually, rejectionOf } from '../support/assertions.js';
import { uniqueName, uniqueSchema, useEventLog } from '../support/event-log.js';
import { testPool } from '../support/database.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const fixture = useEventLog();
let admin: pg.Pool;
beforeAll(() => {
  admin = testPool(fixture.connectionString);
});
afterAll(() => admin.end());

/** A log on a schema of its own, whose tables a test may break; it polls every 20 ms at the tail. */
async function ownSchema(): Promise<EventLog> {
  return fixture.connect({ schema: uniqueSchema('refused'), max: 4, pollIntervalMs: 20 });
}

/** Makes every read of `log` fail with an error reply: its records table is gone (renamed). */
async function breakReads(log: EventLog): Promise<void> {
  await admin.query(`alter table "${log.schema}".records rename to records_gone`);
}

/** How an iteration ended: 'running' until it does. */
function drain(items: AsyncIterable<unknown>): { ended: 'running' | 'returned' | { error: unknown } } {
  const state: { ended: 'running' | 'returned' | { error: unknown } } = { ended: 'running' };
  void (async () => {
    try {
      for await (const _ of items) void _;
      state.ended = 'returned';
    } catch (error) {
      state.ended = { error };
    }
  })();
  return state;
}

describe('StorageError.connectionLost', () => {
  it('is false when the database refused the statement', async () => {
    const log = await ownSchema();
    const stream = log.stream(uniqueName('refused'));
    await stream.append([{ body: 'a' }]);
    await breakReads(log);
    const error = await rejectionOf(stream.read({ seqNum: 0 }));
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).connectionLost).toBe(false);
  });

  it('is true when the connection was lost during the statement', async () => {
    const proxy = await TcpProxy.start(fixture.connectionString);
    try {
      const log = await fixture.connect({ connectionString: proxy.connectionString, max: 2 });
      const stream = log.stream(uniqueName('lost'));
      await stream.append([{ body: 'a' }]);
      proxy.cutNext({ containing: `fencepost.${log.schema}.read.v1`, when: 'after-reply' });
      const error = await rejectionOf(stream.read({ seqNum: 0 }));
      expect(proxy.cuts).toBe(1);
      expect(error).toBeInstanceOf(StorageError);
      expect((error as StorageError).connectionLost).toBe(true);
      await log.close();
    } finally {
      await proxy.close();
    }
  });

  it('is true when no connection could be had', async () => {
    const proxy = await TcpProxy.start(fixture.connectionString);
    const log = await fixture.connect({ connectionString: proxy.connectionString, max: 2 });
    const stream = log.stream(uniqueName('unreachable'));
    await stream.append([{ body: 'a' }]);
    // Drops the pool's connections and refuses new ones.
    await proxy.close();
    const error = await eventually(async () => {
      const failure = await rejectionOf(stream.read({ seqNum: 0 }));
      return /could not get a database connection/.test((failure as Error).message) && failure;
    }, 'a read to find no connection');
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).connectionLost).toBe(true);
    await log.close();
  });
});

describe('EventLog.connect when the database cannot be had', () => {
  it('fails with a StorageError that is connectionLost, with migrations and without', async () => {
    const proxy = await TcpProxy.start(fixture.connectionString);
    const url = proxy.connectionString;
    await proxy.close(); // nothing listens there any more
    for (const migrate of [true, false]) {
      const error = await rejectionOf(fixture.connect({ connectionString: url, migrate }));
      expect(error).toBeInstanceOf(StorageError);
      expect((error as StorageError).connectionLost).toBe(true);
    }
  });
});

describe('a follow whose reads are refused', () => {
  it('ends with the StorageError instead of retrying it forever', async () => {
    const log = await ownSchema();
    const stream = log.stream(uniqueName('follow-refused'));
    await stream.append([{ body: 'a' }]);
    const controller = new AbortController();
    const follow = drain(stream.follow({ seqNum: 0, signal: controller.signal }));
    try {
      await breakReads(log);
      await eventually(() => follow.ended !== 'running', 'the follow to end');
      const { error } = follow.ended as { error: unknown };
      expect(error).toBeInstanceOf(StorageError);
      expect((error as StorageError).connectionLost).toBe(false);
      expect((error as Error).message).toMatch(/refused/);
    } finally {
      controller.abort();
    }
  });

  it('ends a followAll with the StorageError instead of retrying it forever', async () => {
    const log = await ownSchema();
    await log.stream(uniqueName('follow-all-refused')).append([{ body: 'a' }]);
    const controller = new AbortController();
    const follow = drain(log.followAll({ signal: controller.signal }));
    try {
      await breakReads(log);
      await eventually(() => follow.ended !== 'running', 'the followAll to end');
      const { error } = follow.ended as { error: unknown };
      expect(error).toBeInstanceOf(StorageError);
      expect((error as StorageError).connectionLost).toBe(false);
    } finally {
      controller.abort();
    }
  });
});

describe('a follow whose read is canceled', () => {
  it('retries it (a transient refusal) and delivers every record, as after a lost connection', async () => {
    const url = new URL(fixture.connectionString);
    url.searchParams.set('application_name', 'fp-canceled');
    const schema = uniqueSchema('canceled');
    const log = await fixture.connect({ connectionString: url.toString(), schema, pollIntervalMs: 20 });
    const stream = log.stream(uniqueName('canceled'));
    await stream.append([{ body: 'r0' }]);
    const seen: string[] = [];
    const controller = new AbortController();
    const follow = drain(
      (async function* () {
        for await (const record of stream.follow({ seqNum: 0, signal: controller.signal })) {
          seen.push(record.body);
          yield record;
        }
      })(),
    );
    const locker = await admin.connect();
    try {
      await eventually(() => seen.length === 1, 'the first record');
      // The follower's next read waits for the table, and is canceled there (SQLSTATE 57014).
      await locker.query('begin');
      await locker.query(`lock table "${schema}".records in access exclusive mode`);
      const waiting = async () =>
        (
          await admin.query<{ pid: number }>(
            `select pid from pg_stat_activity where application_name = 'fp-canceled' and wait_event_type = 'Lock'`,
          )
        ).rows;
      const [reader] = await eventually(async () => {
        const rows = await waiting();
        return rows.length > 0 && rows;
      }, 'a read to wait for the lock');
      await admin.query('select pg_cancel_backend($1)', [reader!.pid]);
      await eventually(async () => (await waiting()).length > 0, 'the read to be tried again');
      await locker.query('commit');
      await stream.append([{ body: 'r1' }]);
      await eventually(() => seen.length === 2, 'the record after the cancel');
      expect(seen).toEqual(['r0', 'r1']);
      expect(follow.ended).toBe('running');
    } finally {
      await locker.query('rollback').catch(() => undefined);
      locker.release();
      controller.abort();
    }
  });
});
