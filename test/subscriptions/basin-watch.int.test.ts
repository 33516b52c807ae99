import { describe, expect, it } from 'vitest';
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
            `select 1 from fencepost.basins where name = 'default-basin' and watched_until > clock_timestamp()`,
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
});
