import { setMaxListeners } from 'node:events';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventLog, SequencedRecord } from '../../src/index.js';
import { eventually } from '../support/assertions.js';
import { uniqueName, useEventLog } from '../support/event-log.js';
import { testPool } from '../support/database.js';

const fixture = useEventLog();
let admin: pg.Pool;
beforeAll(() => {
  admin = testPool(fixture.connectionString);
});
afterAll(() => admin.end());

async function connectAs(
  applicationName: string,
  options: { pollIntervalMs?: number } = {},
): Promise<EventLog> {
  const url = new URL(fixture.connectionString);
  url.searchParams.set('application_name', applicationName);
  return fixture.connect({ connectionString: url.toString(), max: 4, ...options });
}

/** Collects records from a follow until `n` arrived, then aborts it. */
async function collect(log: EventLog, name: string, n: number, from = 0): Promise<SequencedRecord[]> {
  const controller = new AbortController();
  const seen: SequencedRecord[] = [];
  for await (const record of log.stream(name).follow({ seqNum: from, signal: controller.signal })) {
    seen.push(record);
    if (seen.length === n) controller.abort();
  }
  return seen;
}

describe('follow', () => {
  it('catches up, then delivers records appended later, in order, until aborted', async () => {
    const name = uniqueName('follow');
    const stream = fixture.log.stream(name);
    await stream.append([{ body: 'old 0' }, { body: 'old 1' }]);
    const followed = collect(fixture.log, name, 6);
    for (let i = 0; i < 4; i++) await stream.append([{ body: `new ${i}` }]);
    const records = await followed;
    expect(records.map((r) => r.body)).toEqual(['old 0', 'old 1', 'new 0', 'new 1', 'new 2', 'new 3']);
  });

  it('wakes on appends made through another connection pool (another process) by notification', async () => {
    const name = uniqueName('cross');
    await fixture.log.stream(name).append([{ body: 'first' }]);
    // Polling is set to a minute, so only a notification can deliver within the deadlines below.
    const follower = await connectAs('fp-cross-follower', { pollIntervalMs: 60_000 });
    const writer = await connectAs('fp-cross-writer');
    const controller = new AbortController();
    const seen: number[] = [];
    const following = (async () => {
      for await (const record of follower.stream(name).follow({ seqNum: 0, signal: controller.signal })) {
        seen.push(record.seqNum);
      }
    })();
    await eventually(() => seen.length === 1, 'the catch-up');
    // One at a time: each append must reach the follower before the next is made.
    for (let i = 1; i <= 20; i++) {
      await writer.stream(name).append([{ body: `w${i}` }]);
      await eventually(() => seen.length === i + 1, `record ${i} to arrive by notification`, 10_000);
    }
    controller.abort();
    await following;
    expect(seen).toEqual(Array.from({ length: 21 }, (_, i) => i));
  });

  it('wakes followers of many streams elsewhere from concurrent appends, with fewer notifications than appends', async () => {
    const streams = Array.from({ length: 30 }, (_, i) => uniqueName(`many-${i}`));
    for (const name of streams) await fixture.log.stream(name).append([{ body: 'first' }]);
    // Polling is set to a minute, so only notifications can deliver within the deadlines below.
    const follower = await connectAs('fp-many-follower', { pollIntervalMs: 60_000 });
    const writer = await connectAs('fp-many-writer');
    const listener = await admin.connect();
    const payloads: string[] = [];
    listener.on('notification', (message) => payloads.push(message.payload ?? ''));
    await listener.query(`listen "fencepost_${fixture.log.schema}"`);
    const controller = new AbortController();
    setMaxListeners(streams.length, controller.signal); // one follow per stream shares it
    const seen = new Map<string, number>(streams.map((name) => [name, 0]));
    const following = streams.map(async (name) => {
      for await (const record of follower.stream(name).follow({ seqNum: 0, signal: controller.signal })) {
        seen.set(name, record.seqNum + 1);
      }
    });
    try {
      await eventually(() => [...seen.values()].every((n) => n === 1), 'the catch-ups');
      // The followers have marked their streams watched once they wait at the tail.
      await eventually(async () => {
        const { rows } = await admin.query(
          `select count(*)::int as n from "${fixture.log.schema}".streams
           where name = any($1) and watched_until > clock_timestamp()`,
          [streams],
        );
        return rows[0].n === streams.length;
      }, 'every stream marked watched');
      for (let round = 1; round <= 3; round++) {
        await Promise.all(streams.map((name) => writer.stream(name).append([{ body: `r${round}` }])));
        await eventually(
          () => [...seen.values()].every((n) => n === round + 1),
          `round ${round} to reach every follower by notification`,
          10_000,
        );
      }
      // Each notification names the streams appended to while the one before was being sent.
      const ids = payloads.flatMap((p) => p.split(','));
      expect(new Set(ids).size).toBe(streams.length);
      expect(payloads.length).toBeLessThan(3 * streams.length);
    } finally {
      controller.abort();
      await Promise.all(following);
      listener.release();
      await writer.close();
      await follower.close();
    }
  });

  it('resumes without gap or duplicate when its connections are terminated again and again', async () => {
    const name = uniqueName('survivor');
    const follower = await connectAs('fp-follower');
    const total = 400;
    await fixture.log.stream(name).append([{ body: 'seed' }]);
    const followed = collect(follower, name, total);
    let killed = 0;
    const writer = (async () => {
      for (let i = 1; i < total; i++) {
        await fixture.log.stream(name).append([{ body: `r${i}` }]);
        if (i % 40 === 0) {
          const { rows } = await admin.query(
            `select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'fp-follower'`,
          );
          killed += rows.length;
        }
      }
    })();
    const [records] = await Promise.all([followed, writer]);
    expect(killed).toBeGreaterThan(0);
    expect(records.map((r) => r.seqNum)).toEqual(Array.from({ length: total }, (_, i) => i));
  });

  it('stops at count, and ends at once when aborted while waiting', async () => {
    const name = uniqueName('bounded');
    await fixture.log.stream(name).append([{ body: 'a' }, { body: 'b' }, { body: 'c' }]);
    const two = [];
    for await (const record of fixture.log.stream(name).follow({ seqNum: 0, count: 2 }))
      two.push(record.seqNum);
    expect(two).toEqual([0, 1]);
    const controller = new AbortController();
    const seen: number[] = [];
    const following = (async () => {
      for await (const record of fixture.log.stream(name).follow({ seqNum: 0, signal: controller.signal })) {
        seen.push(record.seqNum);
      }
    })();
    await eventually(() => seen.length === 3, 'the catch-up');
    controller.abort();
    await following;
    expect(seen).toEqual([0, 1, 2]);
  });
});
