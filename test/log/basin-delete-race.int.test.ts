/**
 * Deleting a basin (or a stream) while appends race it leaves no record behind whose stream row is gone
 * (records have no foreign key to their stream: nothing else would ever delete them). An append that holds
 * its stream's row lock, or creates a stream in the basin, commits before the delete removes its records,
 * or fails.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FencepostError, type EventLog } from '../../src/index.js';
import { eventually } from '../support/assertions.js';
import { testPool } from '../support/database.js';
import { uniqueName, useEventLog } from '../support/event-log.js';

const fixture = useEventLog();
let admin: pg.Pool;
let appender: EventLog;
let deleter: EventLog;

/** A log on a pool of its own, whose backends carry `applicationName`. */
async function connectAs(applicationName: string, max: number): Promise<EventLog> {
  const url = new URL(fixture.connectionString);
  url.searchParams.set('application_name', applicationName);
  return fixture.connect({ connectionString: url.toString(), max });
}

beforeAll(async () => {
  admin = testPool(fixture.connectionString, 4);
  appender = await connectAs('fp-race-appender', 8);
  deleter = await connectAs('fp-race-deleter', 2);
});
afterAll(() => admin.end());

/** Records whose stream row no longer exists. */
async function orphans(): Promise<number> {
  const { rows } = await admin.query<{ n: number }>(
    `select count(*)::int as n from ${fixture.log.schema}.records r
     where not exists (select 1 from ${fixture.log.schema}.streams s where s.id = r.stream_id)`,
  );
  return rows[0]!.n;
}

/** Waits until a backend of the given application waits for a lock. */
async function waitingForLock(applicationName: string): Promise<void> {
  await eventually(async () => {
    const { rows } = await admin.query(
      `select 1 from pg_stat_activity where application_name = $1 and wait_event_type = 'Lock'`,
      [applicationName],
    );
    return rows.length > 0;
  }, `a backend of ${applicationName} to wait for a lock`);
}

async function newBasin(): Promise<string> {
  const basin = uniqueName('race');
  await fixture.log.basins.create({ basin, config: { createStreamOnAppend: true } });
  return basin;
}

describe('deleting a basin while appends race it', () => {
  it('deletes the records of an append that held its stream row lock and committed during the delete', async () => {
    const basin = await newBasin();
    await fixture.log
      .basin(basin)
      .stream('s')
      .append([{ body: 'first' }]);
    // Hold the stream row lock, as an append in flight does, until both the append and the delete wait.
    const holder = await admin.connect();
    try {
      await holder.query('begin');
      await holder.query(`select 1 from ${fixture.log.schema}.streams where basin = $1 for update`, [basin]);
      const appending = appender
        .basin(basin)
        .stream('s')
        .append([{ body: 'racing' }])
        .then(
          () => 'appended',
          (error: unknown) => error,
        );
      await waitingForLock('fp-race-appender');
      const deleting = deleter.basins.delete({ basin });
      await waitingForLock('fp-race-deleter');
      await holder.query('commit');
      await deleting;
      const appended = await appending;
      if (appended !== 'appended') expect(appended).toBeInstanceOf(FencepostError);
    } finally {
      holder.release();
    }
    expect(await orphans()).toBe(0);
  });

  it('deletes the records of a stream created in the basin by a transaction that commits during the delete', async () => {
    const basin = await newBasin();
    await fixture.log
      .basin(basin)
      .stream('s')
      .append([{ body: 'first' }]);
    const schema = fixture.log.schema;
    // What an append creating its stream does: insert the stream row (which key-share locks the basin row),
    // then its records, then commit.
    const creator = await admin.connect();
    try {
      await creator.query('begin');
      const { rows } = await creator.query<{ id: string }>(
        `insert into ${schema}.streams (basin, name) values ($1, 'new') returning id`,
        [basin],
      );
      const deleting = deleter.basins.delete({ basin });
      await waitingForLock('fp-race-deleter');
      await creator.query(
        `insert into ${schema}.records (stream_id, seq_num, timestamp, body, size, body_utf8, end_bytes)
         values ($1, 0, 0, 'x', 9, true, 9)`,
        [rows[0]!.id],
      );
      await creator.query('commit');
      await deleting;
    } finally {
      creator.release();
    }
    expect(await orphans()).toBe(0);
  });

  it('deletes a stream after the append holding its row lock committed, records and all', async () => {
    const basin = await newBasin();
    await fixture.log
      .basin(basin)
      .stream('s')
      .append([{ body: 'first' }]);
    const holder = await admin.connect();
    try {
      await holder.query('begin');
      await holder.query(`select 1 from ${fixture.log.schema}.streams where basin = $1 for update`, [basin]);
      const appending = appender
        .basin(basin)
        .stream('s')
        .append([{ body: 'racing' }])
        .catch((error: unknown) => error);
      await waitingForLock('fp-race-appender');
      const deleting = deleter.basin(basin).streams.delete({ stream: 's' });
      await waitingForLock('fp-race-deleter');
      await holder.query('commit');
      await deleting;
      await appending;
    } finally {
      holder.release();
    }
    expect(await orphans()).toBe(0);
  });

  it('leaves no record without its stream over many rounds of appends from another pool racing the delete', async () => {
    for (let round = 0; round < 20; round++) {
      const basin = await newBasin();
      const names = ['s0', 's1', 's2', 's3'];
      for (const name of names)
        await fixture.log
          .basin(basin)
          .stream(name)
          .append([{ body: 'first' }]);
      let deleted = false;
      let acked = 0;
      const failures: unknown[] = [];
      const appendUntilDeleted = async (writer: number) => {
        for (let i = 0; !deleted; i++) {
          const records = [{ body: `${writer}:${i}` }, { body: `${writer}:${i}:second` }];
          try {
            if (i % 4 === 3) {
              // A new stream, created by the append.
              await appender.basin(basin).stream(`new-${writer}-${i}`).append(records);
            } else if (i % 4 === 2) {
              // Two streams at once, locked in (basin, name) order.
              await appender.appendMany([
                { basin, stream: names[writer % 4]!, records },
                { basin, stream: names[(writer + 1) % 4]!, records },
              ]);
            } else {
              await appender
                .basin(basin)
                .stream(names[(writer + i) % 4]!)
                .append(records);
            }
            acked++;
          } catch (error) {
            failures.push(error);
          }
        }
      };
      const writers = Array.from({ length: 6 }, (_, writer) => appendUntilDeleted(writer));
      await eventually(() => acked >= 12, 'appends to be under way');
      await deleter.basins.delete({ basin });
      deleted = true;
      await Promise.all(writers);
      // Appends that lost to the delete failed definitely (the basin or stream was gone): nothing written.
      for (const failure of failures) {
        expect(failure).toBeInstanceOf(FencepostError);
        expect((failure as FencepostError).indefinite).toBe(false);
      }
      expect(await orphans()).toBe(0);
    }
  });
});
