import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BasinMarks } from '../../src/log/basin-marks.js';
import { eventually } from '../support/assertions.js';
import { uniqueName, useEventLog } from '../support/event-log.js';
import { testPool } from '../support/database.js';

const fixture = useEventLog();
let pool: pg.Pool;
beforeAll(() => {
  pool = testPool(fixture.connectionString);
});
afterAll(() => pool.end());

/** This test's process, as a follower's process marks: a watcher id of its own. */
const WATCHER = randomUUID();

/** Marks `basin` watched until `until` (SQL) as a follower's process does: a row of its own. */
async function setMark(basin: string, until: string, watcher = WATCHER): Promise<void> {
  await pool.query(
    `insert into "${fixture.log.schema}".basin_watchers (basin, watcher, watched_until) values ($1, $2, ${until})
     on conflict (basin, watcher) do update set watched_until = excluded.watched_until`,
    [basin, watcher],
  );
}

describe("the appending process's view of basin marks", () => {
  it('follows a basin being marked and unmarked, and counts a basin it has not looked up as watched', async () => {
    const basin = uniqueName('marks');
    const other = uniqueName('marks');
    await fixture.log.basins.create({ basin });
    await fixture.log.basins.create({ basin: other });
    const marks = new BasinMarks(pool, fixture.log.schema);
    expect(marks.watched(basin)).toBe(true); // never looked up: the append notifies
    await marks.flush();
    expect(marks.watched(basin)).toBe(false);

    await setMark(basin, `clock_timestamp() + interval '1 minute'`);
    await eventually(() => marks.watched(basin), 'the mark to be seen');
    expect(marks.watched(other)).toBe(true); // not looked up yet
    await marks.flush();
    expect(marks.watched(other)).toBe(false); // looked up with the first basin since

    await setMark(basin, `clock_timestamp() - interval '1 second'`); // a lapsed mark
    await eventually(() => !marks.watched(basin), 'the lapsed mark to be seen');
  });

  it("sees a basin watched while any process's mark stands, and a mark an earlier version set", async () => {
    const basin = uniqueName('marks');
    await fixture.log.basins.create({ basin });
    const marks = new BasinMarks(pool, fixture.log.schema);
    const other = randomUUID();
    await setMark(basin, `clock_timestamp() + interval '1 minute'`);
    await setMark(basin, `clock_timestamp() + interval '1 minute'`, other);
    await eventually(() => marks.watched(basin), 'the marks to be seen');
    await pool.query(`delete from "${fixture.log.schema}".basin_watchers where basin = $1 and watcher = $2`, [
      basin,
      WATCHER,
    ]);
    const after = new BasinMarks(pool, fixture.log.schema); // its first lookup comes after the delete
    after.watched(basin);
    await after.flush();
    expect(after.watched(basin)).toBe(true); // the other process's mark stands
    await setMark(basin, `clock_timestamp() - interval '1 second'`, other); // lapsed
    await eventually(() => !marks.watched(basin), 'no mark standing');
    // A follower of a version before basin_watchers marks the basin row itself.
    await pool.query(
      `update "${fixture.log.schema}".basins set watched_until = clock_timestamp() + interval '1 minute' where name = $1`,
      [basin],
    );
    await eventually(() => marks.watched(basin), "the basin row's mark to be seen");
  });

  it('looks up only the basins appended to whose answers are old', async () => {
    const [a, b] = [uniqueName('marks'), uniqueName('marks')];
    await fixture.log.basins.create({ basin: a });
    await fixture.log.basins.create({ basin: b });
    const lookups: string[][] = [];
    const spy = {
      query: (query: { values: [string[]] }) => {
        lookups.push(query.values[0]);
        return pool.query(query as never);
      },
    } as unknown as pg.Pool;
    const marks = new BasinMarks(spy, fixture.log.schema);
    marks.watched(a);
    await marks.flush();
    marks.watched(b); // a is not appended to now: only b is looked up
    await marks.flush();
    expect(lookups).toEqual([[a], [b]]);
  });

  it('counts every basin as watched once its answer is old and lookups fail', async () => {
    const basin = uniqueName('marks');
    await fixture.log.basins.create({ basin });
    const failing = new pg.Pool({ connectionString: fixture.connectionString, max: 1 });
    const marks = new BasinMarks(failing, fixture.log.schema);
    marks.watched(basin);
    await marks.flush();
    expect(marks.watched(basin)).toBe(false);
    await failing.end(); // every later lookup fails
    await eventually(() => marks.watched(basin), 'the old answer to give way');
    await marks.flush();
    expect(marks.watched(basin)).toBe(true);
  });

  it('ages its answers by the real clock, also when fake timers set the global clock back', async () => {
    const basin = uniqueName('marks');
    await fixture.log.basins.create({ basin });
    const marks = new BasinMarks(pool, fixture.log.schema);
    marks.watched(basin);
    await marks.flush();
    expect(marks.watched(basin)).toBe(false); // answered at the real clock's time
    await setMark(basin, `clock_timestamp() + interval '1 minute'`);
    // The global clock set back to 0; process.hrtime and node:timers left real, to wait with.
    vi.useFakeTimers({
      now: 0,
      toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance'],
    });
    try {
      const start = process.hrtime.bigint();
      while (!marks.watched(basin)) {
        expect(Number(process.hrtime.bigint() - start) / 1e6, 'the new mark seen').toBeLessThan(2000);
        await sleep(5);
      }
    } finally {
      vi.useRealTimers();
    }
  });
});
