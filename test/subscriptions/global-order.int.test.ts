/**
 * The global log's order against real transactions on separate connections: a late commit holds readers
 * back and is never skipped, a rollback never stalls them, and a transaction that took its id before waiting
 * for a stream's row lock still lands in the stream's seqNum order.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendOneParameters, appendOneStatement } from '../../src/log/append-one-statement.js';
import { encodeBatch } from '../../src/log/encode-batch.js';
import { eventually } from '../support/assertions.js';
import { uniqueName, useEventLog } from '../support/event-log.js';
import { followInBackground } from './support/follow-in-background.js';

const fixture = useEventLog();
const BASIN = 'default-basin';
let clients: pg.Client[] = [];

beforeAll(() => {
  clients = [];
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
});

async function client(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: fixture.connectionString });
  c.on('error', () => undefined);
  await c.connect();
  clients.push(c);
  return c;
}

/** fencepost's own single-record append statement, run on `c` (inside whatever transaction it has open). */
async function appendOn(c: pg.Client, stream: string, body: string): Promise<number> {
  const schema = fixture.log.schema;
  const { rows } = await c.query<{ seq_num: string }>({
    text: appendOneStatement(schema, 'update'),
    values: appendOneParameters(BASIN, stream, encodeBatch([{ body }]), {}),
  });
  if (rows.length !== 1) throw new Error(`append to ${stream} matched no stream row`);
  return Number(rows[0]!.seq_num);
}

describe('the late-commit race', () => {
  it('holds a follower back until the older transaction commits, then delivers both in order, once', async () => {
    const prefix = uniqueName('late');
    const [a, b] = [`${prefix}-a`, `${prefix}-b`];
    await fixture.log.stream(a).append([{ body: 'a0' }]);
    await fixture.log.stream(b).append([{ body: 'b0' }]);
    const follow = followInBackground(fixture.log, { filter: { streamPrefix: prefix } });
    await eventually(() => follow.seen.length === 2, 'the catch-up');

    const t1 = await client();
    await t1.query('begin');
    await appendOn(t1, a, 'a1 (T1, committed late)');
    const [{ xid }] = (await t1.query<{ xid: string }>('select pg_current_xact_id()::text as xid')).rows as [
      { xid: string },
    ];
    await fixture.log.stream(b).append([{ body: 'b1 (T2, committed first)' }]);

    // In between: readers poll and never pass T1.
    for (let i = 0; i < 20; i++) {
      const page = await fixture.log.readAll({ filter: { streamPrefix: prefix } });
      expect(page.records.map((r) => r.body)).toEqual(['a0', 'b0']);
      expect(BigInt(page.horizon)).toBeLessThanOrEqual(BigInt(xid));
    }
    // Once older transactions elsewhere on the server have ended, T1 is what holds the horizon.
    const report = await eventually(async () => {
      const r = await fixture.log.horizon();
      return r.horizon === xid && r;
    }, 'T1 to hold the horizon');
    expect(report.heldBy?.pid).toBe((t1 as unknown as { processID: number }).processID);
    expect(report.heldBy?.state).toBe('idle in transaction');
    expect(follow.bodies()).toEqual(['a0', 'b0']);

    await t1.query('commit');
    await eventually(() => follow.seen.length === 4, 'both records after T1 commits');
    await fixture.log.stream(a).append([{ body: 'a2' }]);
    await eventually(() => follow.seen.length === 5, 'a later record');
    await follow.stop();
    expect(follow.bodies()).toEqual([
      'a0',
      'b0',
      'a1 (T1, committed late)',
      'b1 (T2, committed first)',
      'a2',
    ]);
  });

  it('moves on at once when the older transaction rolls back', async () => {
    const prefix = uniqueName('rollback');
    const [a, b] = [`${prefix}-a`, `${prefix}-b`];
    await fixture.log.stream(a).append([{ body: 'a0' }]);
    await fixture.log.stream(b).append([{ body: 'b0' }]);
    // Polls once a minute: only wake-ups and the short poll after one can deliver within the deadline.
    const slow = await fixture.connect({ pollIntervalMs: 60_000, max: 4 });
    const controller = new AbortController();
    const seen: string[] = [];
    const done = (async () => {
      for await (const r of slow.followAll({ filter: { streamPrefix: prefix }, signal: controller.signal }))
        seen.push(r.body);
    })();
    await eventually(() => seen.length === 2, 'the catch-up');
    const t1 = await client();
    await t1.query('begin');
    await appendOn(t1, a, 'a1 (rolled back)');
    await slow.stream(b).append([{ body: 'b1' }]);
    for (let i = 0; i < 10; i++) {
      const page = await slow.readAll({ filter: { streamPrefix: prefix } });
      expect(page.records.map((r) => r.body)).toEqual(['a0', 'b0']);
    }
    await t1.query('rollback');
    await eventually(() => seen.length === 3, 'b1 after the rollback', 3000);
    controller.abort();
    await done;
    expect(seen).toEqual(['a0', 'b0', 'b1']);
  });
});

describe('per-stream order', () => {
  it('keeps seqNum order when a transaction took its id before waiting for the stream row lock', async () => {
    const s = uniqueName('locked');
    const other = `${s}-other`;
    await fixture.log.stream(s).append([{ body: 's0' }]);
    const t1 = await client();
    const t2 = await client();
    // T1 takes its transaction id first (a write of its own would do the same).
    await t1.query('begin');
    const x1 = BigInt((await t1.query<{ x: string }>('select pg_current_xact_id()::text as x')).rows[0]!.x);
    // T2, younger, appends S:1 and holds S's row lock.
    await t2.query('begin');
    expect(await appendOn(t2, s, 's1 by T2')).toBe(1);
    const x2 = BigInt((await t2.query<{ x: string }>('select pg_current_xact_id()::text as x')).rows[0]!.x);
    expect(x1).toBeLessThan(x2);
    // T1 appends to S: it waits for T2's lock.
    const t1Append = appendOn(t1, s, 's2 by T1');
    await eventually(async () => {
      const { rows } = await t2.query<{ n: string }>(
        `select count(*) as n from pg_stat_activity where pid = $1 and wait_event_type = 'Lock'`,
        [(t1 as unknown as { processID: number }).processID],
      );
      return rows[0]!.n === '1';
    }, 'T1 to wait for the row lock');
    await fixture.log.stream(other).append([{ body: 'o0' }]);
    await t2.query('commit');
    expect(await t1Append).toBe(2);
    await t1.query('commit');

    const { rows } = await t1.query<{ seq_num: string; commit_key: string }>(
      `select seq_num, commit_key::text from "${fixture.log.schema}".records r
       join "${fixture.log.schema}".streams s on s.id = r.stream_id where s.name = $1 order by seq_num`,
      [s],
    );
    // S:2 was written by the older transaction, yet its key is T2's: the stream's keys never decrease.
    expect(rows.map((r) => BigInt(r.commit_key)).slice(1)).toEqual([x2, x2]);
    const all = await eventually(async () => {
      const page = await fixture.log.readAll({ filter: { streamPrefix: s } });
      return page.records.length === 4 && page.records;
    }, 'all four records');
    expect(all.filter((r) => r.stream === s).map((r) => r.seqNum)).toEqual([0, 1, 2]);
    expect(all.find((r) => r.stream === other)).toBeDefined();
  });
});
