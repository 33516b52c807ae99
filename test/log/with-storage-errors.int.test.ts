/**
 * Basin and stream management (and a read that creates its stream) fail with fencepost's errors, never pg's
 * raw ones: a statement the database refused is a StorageError saying so, a connection lost under one is a
 * StorageError saying that (and, for a change, that it may or may not have been applied), each with the
 * database's error as `cause`. The errors fencepost maps itself (not found, already exists) are unchanged.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BasinNotFoundError,
  ResourceAlreadyExistsError,
  StorageError,
  StreamNotFoundError,
  type EventLog,
} from '../../src/index.js';
import { eventually, rejectionOf } from '../support/assertions.js';
import { testPool } from '../support/database.js';
import { uniqueName, uniqueSchema, useEventLog } from '../support/event-log.js';

const fixture = useEventLog();
let admin: pg.Pool;
beforeAll(() => {
  admin = testPool(fixture.connectionString, 2);
});
afterAll(() => admin.end());

/** Expects a StorageError with the database's error as cause, its message matching `message`. */
function expectStorageError(error: unknown, message: RegExp, causeCode?: string): void {
  expect(error).toBeInstanceOf(StorageError);
  expect((error as StorageError).code).toBe('storage');
  expect((error as StorageError).message).toMatch(message);
  expect((error as StorageError).cause).toBeInstanceOf(Error);
  if (causeCode) expect((error as { cause: { code?: string } }).cause.code).toBe(causeCode);
  // Worth a retry when the connection was lost, not when the database refused the statement.
  expect((error as StorageError).connectionLost).toBe(/lost/.test((error as Error).message));
}

describe('a statement the database refuses', () => {
  let log: EventLog;
  let readCreates: string;

  beforeAll(async () => {
    const schema = uniqueSchema('refusing');
    log = await fixture.connect({ schema });
    readCreates = uniqueName('reads');
    await log.basins.create({ basin: readCreates, config: { createStreamOnRead: true } });
    const trimmed = log.stream(uniqueName('trimmed'));
    await trimmed.append([{ body: 'a' }, { body: 'b' }]);
    await trimmed.trim(1);
    // Every new basin or stream row, and every deletion of a record, is refused by the database from now on.
    await admin.query(`
      create function ${schema}.refuse() returns trigger language plpgsql
        as $$ begin raise exception 'refused by a test trigger'; end $$;
      create trigger refuse before insert on ${schema}.basins for each row execute function ${schema}.refuse();
      create trigger refuse before insert on ${schema}.streams for each row execute function ${schema}.refuse();
      create trigger refuse before delete on ${schema}.records for each row execute function ${schema}.refuse();`);
  });

  it('is a StorageError from basins.create, with the database error as cause', async () => {
    const error = await rejectionOf(log.basins.create({ basin: uniqueName('refused') }));
    expectStorageError(error, /database refused the statement: refused by a test trigger/, 'P0001');
  });

  it('is a StorageError from streams.create', async () => {
    const error = await rejectionOf(log.basin(readCreates).streams.create({ stream: 'refused' }));
    expectStorageError(error, /database refused the statement/, 'P0001');
  });

  it('is a StorageError from log.sweep()', async () => {
    expectStorageError(await rejectionOf(log.sweep()), /database refused the statement/, 'P0001');
  });

  it('is a StorageError from a read that creates its stream (createStreamOnRead)', async () => {
    const error = await rejectionOf(log.basin(readCreates).stream('refused').read({ seqNum: 0 }));
    expectStorageError(error, /database refused the statement/, 'P0001');
  });
});

describe('a connection lost under a statement', () => {
  let victim: EventLog;

  beforeAll(async () => {
    const url = new URL(fixture.connectionString);
    url.searchParams.set('application_name', 'fp-admin-victim');
    victim = await fixture.connect({ connectionString: url.toString(), max: 2 });
  });

  /** Holds `lock` in a transaction of its own while `attempt` runs; kills the victim's backend once it waits. */
  async function killedWhileWaiting(lock: string, attempt: () => Promise<unknown>): Promise<unknown> {
    const holder = await admin.connect();
    try {
      await holder.query('begin');
      await holder.query(lock);
      const settled = attempt().then(
        () => undefined,
        (error: unknown) => error,
      );
      await eventually(async () => {
        const { rows } = await admin.query(
          `select pg_terminate_backend(pid) from pg_stat_activity
           where application_name = 'fp-admin-victim' and wait_event_type = 'Lock'`,
        );
        return rows.length > 0;
      }, 'the victim to wait for the lock');
      return await settled;
    } finally {
      await holder.query('rollback');
      holder.release();
    }
  }

  it('is a StorageError from a change (basins.reconfigure), saying it may or may not have been applied', async () => {
    const basin = uniqueName('lost');
    await fixture.log.basins.create({ basin });
    const error = await killedWhileWaiting(
      `select 1 from ${fixture.log.schema}.basins where name = '${basin}' for update`,
      () => victim.basins.reconfigure({ basin, createStreamOnRead: true }),
    );
    // (The cause is the failed ROLLBACK's error, which Kysely throws after the statement's: no SQLSTATE.)
    expectStorageError(error, /connection .*lost.*may or may not have been applied/);
    // The pool let the dead connection go: the log goes on.
    expect(await victim.basins.getConfig({ basin })).toEqual({});
  });

  it('is a StorageError from a read (streams.list)', async () => {
    const error = await killedWhileWaiting(
      `lock table ${fixture.log.schema}.streams in access exclusive mode`,
      () => victim.basin('default-basin').streams.list(),
    );
    expectStorageError(error, /connection .*lost/, '57P01');
    expect((error as Error).message).not.toMatch(/may or may not/);
    expect(await victim.basin('default-basin').streams.list({ limit: 1 })).toMatchObject({ streams: [] });
  });
});

describe('the errors fencepost maps itself', () => {
  it('are as they were', async () => {
    expect(await rejectionOf(fixture.log.basins.create({ basin: 'default-basin' }))).toBeInstanceOf(
      ResourceAlreadyExistsError,
    );
    expect(await rejectionOf(fixture.log.basins.getConfig({ basin: uniqueName('missing') }))).toBeInstanceOf(
      BasinNotFoundError,
    );
    expect(
      await rejectionOf(
        fixture.log.basins.reconfigure({ basin: uniqueName('missing'), createStreamOnRead: true }),
      ),
    ).toBeInstanceOf(BasinNotFoundError);
    const streams = fixture.log.basin('default-basin').streams;
    const name = uniqueName('exists');
    await streams.create({ stream: name });
    expect(await rejectionOf(streams.create({ stream: name }))).toBeInstanceOf(ResourceAlreadyExistsError);
    expect(await rejectionOf(streams.delete({ stream: uniqueName('missing') }))).toBeInstanceOf(
      StreamNotFoundError,
    );
    expect(await rejectionOf(fixture.log.basin(uniqueName('missing')).streams.list())).toBeInstanceOf(
      BasinNotFoundError,
    );
  });
});
