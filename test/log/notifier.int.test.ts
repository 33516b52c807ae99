import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Notifier } from '../../src/log/notifier.js';
import { testPool } from '../support/database.js';
import { useEventLog } from '../support/event-log.js';

const fixture = useEventLog();
let pool: pg.Pool;
beforeAll(() => {
  pool = testPool(fixture.connectionString);
});
afterAll(() => pool.end());

describe('notifications of appends to watched streams', () => {
  it('go at once, then at most every 20 ms while appends keep coming, together naming every stream', async () => {
    const sent: { at: number; ids: string[] }[] = [];
    const spy = {
      query: (query: { values: [string[]] }) => {
        sent.push({ at: performance.now(), ids: query.values[0].flatMap((payload) => payload.split(',')) });
        return pool.query(query as never);
      },
    } as unknown as pg.Pool;
    const notifier = new Notifier(spy, fixture.log.schema);
    const start = performance.now();
    let id = 0;
    while (performance.now() - start < 200) {
      notifier.appended('any', ++id, true); // a watched stream: no basin lookup
      await sleep(1);
    }
    await notifier.flush();
    expect(sent.length).toBeGreaterThan(1);
    expect(sent[0]!.at - start).toBeLessThan(20); // the first at once
    // On average at least 20 ms apart. Not each one: Node's timers count from the event loop's clock, read once
    // per turn, so a wait ends early by however long the thread spent since (or was kept off the CPU).
    const span = sent.at(-1)!.at - sent[0]!.at;
    expect(sent.length - 1).toBeLessThanOrEqual(span / 16);
    const named = sent.flatMap((s) => s.ids).map(Number);
    expect(new Set(named)).toEqual(new Set(Array.from({ length: id }, (_, i) => i + 1)));
  });
});
