import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { contextOf } from '../../src/log/log-context.js';
import { holdBasinMark } from '../../src/subscriptions/basin-watch.js';
import { eventually } from '../support/assertions.js';
import { uniqueName, useEventLog } from '../support/event-log.js';

const fixture = useEventLog();

describe('an idle basin-wide follower', () => {
  it('listens again after its LISTEN connection was lost, while it holds its basin mark', async () => {
    const app = uniqueName('fp-watch');
    const url = new URL(fixture.connectionString);
    url.searchParams.set('application_name', app);
    // Polls only every minute: whatever reaches the follower sooner came by notification.
    const follower = await fixture.connect({
      connectionString: url.toString(),
      max: 4,
      pollIntervalMs: 60_000,
    });
    const appender = await fixture.connect({ max: 4 });
    const prefix = uniqueName('watched');
    const seen: string[] = [];
    const controller = new AbortController();
    const following = (async () => {
      const records = follower.followAll({ filter: { streamPrefix: prefix }, signal: controller.signal });
      for await (const r of records) seen.push(r.body);
    })();
    const listener = async () =>
      (
        await fixture.log.pool.query<{ pid: number }>(
          `select pid from pg_stat_activity
           where application_name = $1 and datname = current_database() and query ilike 'listen %'`,
          [app],
        )
      ).rows[0]?.pid;
    try {
      const marked = async () =>
        (
          await fixture.log.pool.query(
            `select 1 from fencepost.basin_watchers where basin = 'default-basin' and watched_until > clock_timestamp()`,
          )
        ).rows.length > 0;
      await eventually(marked, 'the follower to mark its basin watched');
      const pid = await eventually(listener, 'the LISTEN connection');
      await fixture.log.pool.query('select pg_terminate_backend($1)', [pid]);
      await eventually(async () => ((await listener()) ?? pid) !== pid, 'a new LISTEN connection');
      await appender.stream(`${prefix}-a`).append([{ body: 'notified' }]);
      await eventually(() => seen.length === 1, 'the record, by notification');
    } finally {
      controller.abort();
      await following;
    }
    expect(seen).toEqual(['notified']);
  });

  it("takes its own mark away once it finds records, leaving another process's, and marks again when idle", async () => {
    const basin = uniqueName('fp-watchers');
    await fixture.log.basins.create({ basin, config: { createStreamOnAppend: true } });
    const schema = fixture.log.schema;
    const rows = async () =>
      (
        await fixture.log.pool.query<{ live: boolean }>(
          `select watched_until > clock_timestamp() as live from "${schema}".basin_watchers where basin = $1`,
          [basin],
        )
      ).rows;
    // A mark its process left behind long ago: the first marking deletes it.
    await fixture.log.pool.query(
      `insert into "${schema}".basin_watchers (basin, watcher, watched_until)
       values ($1, $2, clock_timestamp() - interval '2 minutes')`,
      [basin, randomUUID()],
    );
    // Two processes' logs, each polling only every minute: what reaches them sooner came by notification.
    const a = await fixture.connect({ max: 4, pollIntervalMs: 60_000 });
    const b = await fixture.connect({ max: 4, pollIntervalMs: 60_000 });
    const controller = new AbortController();
    const seen = { a: [] as string[], b: [] as string[] };
    const follow = async (log: typeof a, who: 'a' | 'b') => {
      const records = log.followAll({
        basin,
        filter: { streamPrefix: `${who}-` },
        signal: controller.signal,
      });
      for await (const r of records) seen[who].push(r.body);
    };
    const following = Promise.all([follow(a, 'a'), follow(b, 'b')]);
    try {
      await eventually(async () => {
        const marks = await rows();
        return marks.length === 2 && marks.every((r) => r.live);
      }, 'both marks, and the old one gone');
      await fixture.log
        .basin(basin)
        .stream('a-1')
        .append([{ body: 'to a' }]);
      await eventually(() => seen.a.length === 1, "a's record, by notification");
      // a found records: its row is deleted, not left to lapse (a lapsed row would still be in the table).
      await eventually(async () => (await rows()).length === 1, "a's mark taken away");
      expect(await rows()).toEqual([{ live: true }]); // b's, still marking the basin
      await fixture.log
        .basin(basin)
        .stream('b-1')
        .append([{ body: 'to b' }]);
      await eventually(() => seen.b.length === 1, "b's record, by notification");
      await fixture.log
        .basin(basin)
        .stream('c-1')
        .append([{ body: 'to nobody' }]);
      // Both idle again after a second without records: both mark the basin again.
      await eventually(async () => (await rows()).filter((r) => r.live).length === 2, 'both marks again');
      await fixture.log
        .basin(basin)
        .stream('a-2')
        .append([{ body: 'to a again' }]);
      await eventually(() => seen.a.length === 2, "a's second record, by notification");
    } finally {
      controller.abort();
      await following;
    }
    expect(seen).toEqual({ a: ['to a', 'to a again'], b: ['to b'] });
  });

  it('lets its basin be deleted while it marks: a stale mark is not held while the marking waits for the basin', async () => {
    const basin = uniqueName('fp-deleted-marked');
    await fixture.log.basins.create({ basin });
    const schema = fixture.log.schema;
    await fixture.log.pool.query(
      `insert into "${schema}".basin_watchers (basin, watcher, watched_until)
       values ($1, $2, clock_timestamp() - interval '2 minutes')`,
      [basin, randomUUID()],
    );
    const app = uniqueName('fp-marking');
    const url = new URL(fixture.connectionString);
    url.searchParams.set('application_name', app);
    const log = await fixture.connect({ connectionString: url.toString(), max: 4 });
    // The basin's deletion, begun: it holds the basin row, as a delete does. It gives up on any lock it waits
    // for longer than 300 ms, before a deadlock could be found and broken (deadlock_timeout, 1 s by default):
    // a deadlock shows as its failure, not as a quiet failure of the marking.
    const deleting = await fixture.log.pool.connect();
    let holding: Promise<() => void> | undefined;
    try {
      await deleting.query('begin');
      await deleting.query(`set local lock_timeout = '300ms'`);
      await deleting.query(`select from "${schema}".basins where name = $1 for update`, [basin]);
      holding = holdBasinMark(contextOf(log), basin);
      // The marking's insert waits for the basin row (its foreign key check).
      await eventually(
        async () =>
          (
            await fixture.log.pool.query(
              `select 1 from pg_stat_activity where application_name = $1 and wait_event_type = 'Lock'`,
              [app],
            )
          ).rows.length > 0,
        'the marking waiting for the basin row',
      );
      // Deleting the basin deletes its marks too. Had the marking deleted the stale one in its own
      // transaction, this would wait for it while it waits for this: a deadlock.
      await deleting.query(`delete from "${schema}".basins where name = $1`, [basin]);
      await deleting.query('commit');
    } finally {
      await deleting.query('rollback').catch(() => undefined);
      deleting.release();
    }
    (await holding)();
    const { rows } = await fixture.log.pool.query(
      `select 1 from "${schema}".basin_watchers where basin = $1`,
      [basin],
    );
    expect(rows).toEqual([]);
  });
});
