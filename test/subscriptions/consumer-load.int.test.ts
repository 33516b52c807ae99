/**
 * 8 writers on connections of their own append 5,000 records to a mix of streams while 2 consumers follow:
 * each consumer applies every committed record exactly once, in each stream's order, and ends with its
 * checkpoint at the end of the log.
 */
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { EventLog, GlobalRecord } from '../../src/index.js';
import { eventually } from '../support/assertions.js';
import { uniqueName, useEventLog } from '../support/event-log.js';
import { testPool } from '../support/database.js';

const fixture = useEventLog();
let admin: pg.Pool;
beforeAll(async () => {
  admin = testPool(fixture.connectionString);
  await admin.query(
    `create table applied (consumer text, stream text, seq_num int, primary key (consumer, stream, seq_num))`,
  );
});
afterAll(() => admin.end());

const WRITERS = 8;
const TOTAL = 5000;
const STREAMS = 40;

it('8 writers, 5,000 records, 2 consumers: every record exactly once, in stream order, to the end', async () => {
  const prefix = uniqueName('load');
  const writers: EventLog[] = [];
  for (let w = 0; w < WRITERS; w++) writers.push(await fixture.connect({ max: 1 }));
  const consumerLogs = [await fixture.connect({ max: 3 }), await fixture.connect({ max: 3 })];
  const names = [uniqueName('billing'), uniqueName('shipping')];
  const delivered = names.map(() => [] as GlobalRecord[]);
  const controller = new AbortController();
  const runs = names.map((name, c) =>
    consumerLogs[c]!.consumer(name, { filter: { streamPrefix: prefix }, batchSize: c === 0 ? 100 : 37 }).run(
      async (batch, trx) => {
        for (const r of batch.records) {
          // A record applied twice would violate the primary key and fail the batch.
          await sql`insert into applied values (${name}, ${r.stream}, ${r.seqNum})`.execute(trx);
        }
        delivered[c]!.push(...batch.records);
      },
      { signal: controller.signal, onStalled: () => undefined },
    ),
  );

  // Writers claim batches of 1–5 records until TOTAL are written, each to a random stream.
  let claimed = 0;
  await Promise.all(
    writers.map(async (log) => {
      while (claimed < TOTAL) {
        const size = Math.min(TOTAL - claimed, 1 + Math.floor(Math.random() * 5));
        claimed += size;
        const stream = `${prefix}-${Math.floor(Math.random() * STREAMS)}`;
        await log.stream(stream).append(Array.from({ length: size }, (_, i) => ({ body: `${stream}:${i}` })));
      }
    }),
  );
  for (let c = 0; c < names.length; c++) {
    await eventually(() => delivered[c]!.length >= TOTAL, `consumer ${c} to apply every record`, 60_000);
  }
  controller.abort();
  await Promise.all(runs);

  // What the log holds, read afresh.
  const tails = new Map<string, number>();
  for (let s = 0; s < STREAMS; s++) {
    const name = `${prefix}-${s}`;
    const tail = await fixture.log
      .stream(name)
      .checkTail()
      .catch(() => ({ seqNum: 0 }));
    if (tail.seqNum > 0) tails.set(name, tail.seqNum);
  }
  expect([...tails.values()].reduce((a, b) => a + b, 0)).toBe(TOTAL);
  for (let c = 0; c < names.length; c++) {
    const records = delivered[c]!;
    expect(records).toHaveLength(TOTAL);
    // Per stream: 0, 1, 2, … to the tail, in delivery order.
    const next = new Map<string, number>();
    for (const r of records) {
      expect(r.seqNum).toBe(next.get(r.stream) ?? 0);
      next.set(r.stream, r.seqNum + 1);
    }
    expect(next).toEqual(tails);
    const { rows } = await admin.query(`select count(*)::int as n from applied where consumer = $1`, [
      names[c],
    ]);
    expect(rows[0].n).toBe(TOTAL);
    const [info] = (await fixture.log.consumers.list()).filter((i) => i.name === names[c]);
    expect(info!.lag.records).toBe(0);
    const after = await fixture.log.readAll({ after: info!.cursor });
    expect(after.records).toEqual([]);
  }
  // Both saw the same global order.
  expect(delivered[1]!.map((r) => r.cursor)).toEqual(delivered[0]!.map((r) => r.cursor));
}, 120_000);
