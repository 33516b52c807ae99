import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventLog, StallReport } from '../../src/index.js';
import { appendOneParameters, appendOneStatement } from '../../src/log/append-one-statement.js';
import { encodeBatch } from '../../src/log/encode-batch.js';
import { eventually } from '../support/assertions.js';
import { uniqueName, useEventLog } from '../support/event-log.js';
import { followInBackground as follow } from './support/follow-in-background.js';
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

/** Waits until an idle follower has marked the default basin watched. */
async function basinMarked(): Promise<void> {
  await eventually(async () => {
    const { rows } = await admin.query(
      `select 1 from "${fixture.log.schema}".basin_watchers
       where basin = 'default-basin' and watched_until > clock_timestamp()`,
    );
    return rows.length > 0;
  }, 'the idle follower to mark the basin watched');
}

describe('followAll', () => {
  it('hands out a page in order to next() calls made at once, and ends before the next record on abort', async () => {
    const prefix = uniqueName('page');
    await fixture.log.stream(`${prefix}-a`).append(Array.from({ length: 5 }, (_, i) => ({ body: `r${i}` })));
    const controller = new AbortController();
    const follow = fixture.log.followAll({ filter: { streamPrefix: prefix }, signal: controller.signal });
    const records = follow[Symbol.asyncIterator]();
    const first = await Promise.all([records.next(), records.next(), records.next()]);
    expect(first.map((step) => step.value?.body)).toEqual(['r0', 'r1', 'r2']);
    controller.abort();
    expect(await records.next()).toEqual({ value: undefined, done: true });
  });

  it('ends when its reader leaves a page early: the follow itself is closed, not just left', async () => {
    const prefix = uniqueName('leave');
    await fixture.log.stream(`${prefix}-a`).append(Array.from({ length: 5 }, (_, i) => ({ body: `r${i}` })));
    const follow = fixture.log.followAll({ filter: { streamPrefix: prefix } }); // no signal: only leaving ends it
    const seen: string[] = [];
    for await (const record of follow) {
      seen.push(record.body);
      if (seen.length === 2) break;
    }
    expect(seen).toEqual(['r0', 'r1']);
    expect(await follow[Symbol.asyncIterator]().next()).toEqual({ value: undefined, done: true });
  });

  it('delivers appends from another pool (process): polling while busy, by NOTIFY once idle, new streams too', async () => {
    const prefix = uniqueName('wake');
    // Polling once a minute when idle: only a notification can deliver the idle-time appends below.
    const follower = await connectAs('fp-global-wake', { pollIntervalMs: 60_000 });
    const writer = await connectAs('fp-global-writer');
    await writer.stream(`${prefix}-0`).append([{ body: 'first' }]);
    const f = follow(follower, { filter: { streamPrefix: prefix } });
    await eventually(() => f.seen.length === 1, 'the catch-up');
    for (let i = 1; i <= 20; i++) {
      // Every other append creates its stream (the create path notifies too).
      const name = i % 2 === 0 ? `${prefix}-${i}` : `${prefix}-0`;
      await writer.stream(name).append([{ body: `w${i}` }]);
      await eventually(() => f.seen.length === i + 1, `record ${i} to arrive`);
    }
    // Quiet for a while, the follower marks the basin watched: from then on only a NOTIFY can wake it.
    for (let i = 21; i <= 23; i++) {
      await basinMarked();
      await writer.stream(`${prefix}-${i}`).append([{ body: `w${i}` }]);
      await eventually(() => f.seen.length === i + 1, `record ${i} to arrive by notification`, 5000);
    }
    await f.stop();
    expect(f.seen.map((r) => r.body)).toEqual([
      'first',
      ...Array.from({ length: 23 }, (_, i) => `w${i + 1}`),
    ]);
  });

  it('finds an append made before appending processes know of its new mark, without waiting for the poll', async () => {
    const prefix = uniqueName('marking');
    const follower = await connectAs('fp-global-marking', { pollIntervalMs: 60_000 });
    await fixture.log.stream(`${prefix}-0`).append([{ body: 'first' }]);
    const f = follow(follower, { filter: { streamPrefix: prefix } });
    await eventually(() => f.seen.length === 1, 'the catch-up');
    await basinMarked();
    // The append statement alone notifies nobody: as an append from a process whose last look at the marks
    // came before this one. Only the follower's brief polling after it marked can find the record in time.
    await admin.query({
      text: appendOneStatement(fixture.log.schema, 'update'),
      values: appendOneParameters('default-basin', `${prefix}-0`, encodeBatch([{ body: 'unnotified' }]), {}),
    });
    await eventually(() => f.seen.length === 2, 'the unnotified record', 5000);
    await f.stop();
    expect(f.seen.map((r) => r.body)).toEqual(['first', 'unnotified']);
  });

  it('resumes without gap or duplicate when its connections are terminated again and again', async () => {
    const prefix = uniqueName('survive');
    const follower = await connectAs('fp-global-survivor');
    const f = follow(follower, { filter: { streamPrefix: prefix } });
    const total = 400;
    let killed = 0;
    for (let i = 0; i < total; i++) {
      await fixture.log.stream(`${prefix}-${i % 7}`).append([{ body: `r${i}` }]);
      if (i % 40 === 39) {
        const { rows } = await admin.query(
          `select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'fp-global-survivor'`,
        );
        killed += rows.length;
      }
    }
    await eventually(() => f.seen.length >= total, 'every record', 20_000);
    await f.stop();
    expect(killed).toBeGreaterThan(0);
    expect(f.seen.map((r) => r.body)).toEqual(Array.from({ length: total }, (_, i) => `r${i}`));
  });

  it('reports a horizon held by an idle-in-transaction writer, with its pid, and skips nothing', async () => {
    const prefix = uniqueName('stall');
    const reports: StallReport[] = [];
    const f = follow(fixture.log, {
      filter: { streamPrefix: prefix },
      stallAfterMs: 100,
      onStalled: (report) => reports.push(report),
    });
    await fixture.log.stream(`${prefix}-a`).append([{ body: 'a0' }]);
    await eventually(() => f.seen.length === 1, 'the first record');
    const idle = new pg.Client({ connectionString: fixture.connectionString });
    await idle.connect();
    try {
      await idle.query('begin');
      await idle.query({
        text: appendOneStatement(fixture.log.schema, 'update'),
        values: appendOneParameters('default-basin', `${prefix}-a`, encodeBatch([{ body: 'held' }]), {}),
      });
      await fixture.log.stream(`${prefix}-b`).append([{ body: 'waits' }]);
      const pid = (idle as unknown as { processID: number }).processID;
      const report = await eventually(() => reports.find((r) => r.heldBy?.pid === pid), 'a stall report');
      expect(report.heldBy?.state).toBe('idle in transaction');
      expect(report.waitingRecords).toBeGreaterThanOrEqual(1);
      expect(report.basin).toBe('default-basin');
      expect(f.seen.map((r) => r.body)).toEqual(['a0']);
      await idle.query('commit');
    } finally {
      await idle.end();
    }
    await eventually(() => f.seen.length === 3, 'both records once the writer commits');
    await f.stop();
    expect(f.seen.map((r) => r.body)).toEqual(['a0', 'held', 'waits']);
  });
});
