import pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import { EventLog } from '../../src/index.js';
import { contextOf } from '../../src/log/log-context.js';
import { uniqueName, useEventLog } from '../support/event-log.js';

const fixture = useEventLog();

/** Which pool connection ran each statement, by the statement's role (`append-one`, `notify`, ...). */
interface Ran {
  connection: number;
  role: string;
}

/** A log on a pool of the test's own that records which connection runs each named statement. */
async function recordingLog(): Promise<{ log: EventLog; pool: pg.Pool; ran: Ran[] }> {
  const pool = new pg.Pool({ connectionString: fixture.connectionString, max: 4 });
  const ran: Ran[] = [];
  let connections = 0;
  pool.on('connect', (client) => {
    const connection = connections++;
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      const name = (args[0] as { name?: unknown } | null)?.name;
      if (typeof name === 'string') ran.push({ connection, role: name.split('.').at(-2)! });
      return query(...args);
    };
  });
  const log = await EventLog.connect({ pool, migrate: false, sweepIntervalMs: 0 });
  return { log, pool, ran };
}

function connectionsOf(ran: readonly Ran[], role: string): Set<number> {
  return new Set(ran.filter((r) => r.role === role).map((r) => r.connection));
}

describe("the append path's background statements", () => {
  // pg-pool hands out the connection released last. A background statement started in the turn in which an
  // append released its connection took that connection, and the caller's next append ran on another one,
  // idle for a while and slower for its first statements (see src/log/after-turn.ts).
  it("leave the connection an append released to the caller's next append: the basin-mark lookup", async () => {
    const { log, pool, ran } = await recordingLog();
    try {
      const stream = log.stream(uniqueName('background'));
      for (let i = 0; i < 20; i++) await stream.append([{ body: `r${i}` }], { matchSeqNum: i });
      await contextOf(log).notifier.flush();
      expect(connectionsOf(ran, 'basin-marks').size).toBeGreaterThan(0); // the lookup ran
      expect(connectionsOf(ran, 'append-one')).toEqual(connectionsOf(ran, 'create-one'));
      expect(connectionsOf(ran, 'append-one').size).toBe(1);
    } finally {
      await log.close();
      await pool.end();
    }
  });

  it("leave the connection an append released to the caller's next append: notifications", async () => {
    const { log, pool, ran } = await recordingLog();
    try {
      const stream = log.stream(uniqueName('background'));
      await stream.append([{ body: 'first' }]);
      await contextOf(log).notifier.flush();
      // A follower elsewhere watches the stream: every append is then notified.
      await pool.query(
        `update "${log.schema}".streams set watched_until = clock_timestamp() + interval '1 minute'
         where name = $1`,
        [stream.name],
      );
      ran.length = 0;
      for (let i = 1; i <= 20; i++) await stream.append([{ body: `r${i}` }], { matchSeqNum: i });
      await contextOf(log).notifier.flush();
      expect(connectionsOf(ran, 'notify').size).toBeGreaterThan(0); // notifications were sent
      expect(connectionsOf(ran, 'append-one').size).toBe(1);
    } finally {
      await log.close();
      await pool.end();
    }
  });
});

describe('under fake timers', () => {
  // Test suites fake setImmediate, setTimeout and performance.now() (vitest's fake timers do by default);
  // the append path's background statements must still run, or `close()` would wait for them forever
  // (it did: the first notification waited 5 ms by a faked clock and timer).
  it('an append notifies and looks up its basin, and close() returns', async () => {
    const log = await fixture.connect();
    vi.useFakeTimers();
    try {
      const stream = log.stream(uniqueName('fake-timers'));
      await stream.append([{ body: 'a' }]);
      await contextOf(log).notifier.flush();
      await log.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('a notification sent before the clock was faked does not hold up the next one by the clocks’ distance', async () => {
    const log = await fixture.connect();
    const basin = uniqueName('fake-timers');
    await log.basins.create({ basin, config: { createStreamOnAppend: true } });
    // Marked watched (as by an idle follower elsewhere), so that both appends notify.
    await log.pool.query(
      `insert into "${log.schema}".basin_watchers (basin, watcher, watched_until)
       values ($1, gen_random_uuid(), clock_timestamp() + interval '1 hour')`,
      [basin],
    );
    const stream = log.basin(basin).stream(uniqueName('fake-timers'));
    await stream.append([{ body: 'real' }]);
    await contextOf(log).notifier.flush(); // sent at the real clock's time
    // At least a second past 0, so that a sender going by the faked clock (0) would wait that long.
    const behind = 1000 - performance.now();
    if (behind > 0) await new Promise((resolve) => setTimeout(resolve, behind));
    // performance.now() set back to 0; process.hrtime left real, to measure with.
    const toFake = [
      'setTimeout',
      'clearTimeout',
      'setImmediate',
      'clearImmediate',
      'Date',
      'performance',
    ] as const;
    vi.useFakeTimers({ now: 0, toFake: [...toFake] });
    try {
      await stream.append([{ body: 'faked' }]);
      const start = process.hrtime.bigint();
      await contextOf(log).notifier.flush();
      expect(Number(process.hrtime.bigint() - start) / 1e6).toBeLessThan(500);
      await log.close();
    } finally {
      vi.useRealTimers();
    }
  });
});
