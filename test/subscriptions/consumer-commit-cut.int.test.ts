import { sql, type Transaction } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsumerBatch, EventLog } from '../../src/index.js';
import { eventually } from '../support/assertions.js';
import { testPool } from '../support/database.js';
import { uniqueName, useEventLog } from '../support/event-log.js';
import { TcpProxy } from '../support/tcp-proxy.js';

// A consumer's batch commits its handler's writes and the checkpoint's advance in one transaction. Here the
// proxy cuts the connection of that transaction's COMMIT (kysely sends it as the simple query "commit"), so
// the consumer does not learn whether the batch committed, and it must find out without applying the batch
// twice, and without taking its own commit for another instance's.
const COMMIT = 'commit\0';
/** The advisory lock every commit of the read model takes (shared) in a deferred trigger: held, it holds commits. */
const GATE = 4242;
/** What the read model holds when each of the six seeded records was applied exactly once. */
const ALL_ONCE = [0, 1, 2, 3, 4, 5].map((seq_num) => ({ seq_num, n: 1 }));

const fixture = useEventLog();
let admin: pg.Pool;
let proxy: TcpProxy;
let log: EventLog;

beforeAll(async () => {
  admin = testPool(fixture.connectionString, 4);
  await admin.query(`create table cut_applied (consumer text, stream text, seq_num int, body text)`);
  await admin.query(`create function cut_gate() returns trigger language plpgsql as $$
    begin perform pg_advisory_xact_lock_shared(${GATE}); return null; end $$`);
  await admin.query(`create constraint trigger cut_gate after insert on cut_applied
    deferrable initially deferred for each row execute function cut_gate()`);
  proxy = await TcpProxy.start(fixture.connectionString);
  log = await fixture.connect({ connectionString: proxy.connectionString, migrate: false, max: 8 });
});
afterAll(async () => {
  await log.close();
  await proxy.close();
  await admin.end();
});

/** `count` records on a stream of their own; returns the stream's name (the consumer's filter prefix). */
async function seed(count: number): Promise<string> {
  const stream = uniqueName('cut');
  await fixture.log.stream(stream).append(
    Array.from({ length: count }, (_, i) => ({ body: `r${i}` })),
    { matchSeqNum: 0 },
  );
  return stream;
}

async function applied(consumer: string): Promise<{ seq_num: number; n: number }[]> {
  const { rows } = await admin.query(
    `select seq_num, count(*)::int as n from cut_applied where consumer = $1 group by 1 order by 1`,
    [consumer],
  );
  return rows;
}

/**
 * Runs a consumer of `stream` in batches of `batchSize` until its checkpoint has no lag left, then stops it;
 * rejects with what run() threw if it stopped on its own before that.
 */
async function consume(stream: string, batchSize: number, meanwhile?: () => Promise<void>): Promise<string> {
  const name = uniqueName('cutc');
  const controller = new AbortController();
  const handler = async (batch: ConsumerBatch, trx: Transaction<unknown>) => {
    for (const r of batch.records) {
      await sql`insert into cut_applied values (${name}, ${r.stream}, ${r.seqNum}, ${r.body})`.execute(trx);
    }
  };
  const running = log
    .consumer(name, { filter: { streamPrefix: stream }, batchSize })
    .run(handler, { signal: controller.signal, backoffMs: 20 });
  const failed = running.then(
    () => undefined,
    (error: unknown) => ({ error }),
  );
  const caughtUp = async () => {
    await meanwhile?.();
    await eventually(async () => {
      const info = (await fixture.log.consumers.list()).find((c) => c.name === name);
      return info !== undefined && info.lag.records === 0 && info.version > 0;
    }, `consumer ${name} to catch up`);
  };
  const reached = caughtUp().then(
    () => undefined,
    (error: unknown) => ({ error }),
  );
  const first = await Promise.race([reached, failed]);
  controller.abort();
  const ended = await failed;
  const error = first?.error ?? ended?.error;
  if (error) throw error;
  return name;
}

describe("a consumer whose batch's COMMIT loses its connection", () => {
  it.each([
    ['after the server committed: it goes on from the stored checkpoint', 'after-reply'],
    ['before the server saw it: the batch is applied again', 'before-send'],
  ] as const)('%s; every record is applied once', async (_, when) => {
    const stream = await seed(6);
    const cuts = proxy.cuts;
    proxy.cutNext({ containing: COMMIT, when });
    const name = await consume(stream, 2);
    expect(proxy.cuts).toBe(cuts + 1);
    expect(await applied(name)).toEqual(ALL_ONCE);
  });

  it('while the commit was still running: its late commit is taken for its own, not for a conflict', async () => {
    // The COMMIT reaches the server and waits there (in the deferred trigger, for the gate); the consumer sees
    // its connection close and finds the checkpoint unmoved; its retry waits for the row lock the first
    // transaction still holds. Then the gate opens: the first transaction commits, and the retry finds the
    // checkpoint one version on, at its own batch's end, written by this instance.
    const stream = await seed(6);
    const gate = new pg.Client({ connectionString: fixture.connectionString });
    await gate.connect();
    await gate.query('select pg_advisory_lock($1)', [GATE]);
    let open = true;
    try {
      const cuts = proxy.cuts;
      proxy.cutNext({ containing: COMMIT, when: 'after-send' });
      const name = await consume(stream, 2, async () => {
        await eventually(async () => {
          const { rows } = await admin.query<{ gated: number; locked: number }>(
            `select count(*) filter (where wait_event_type = 'Lock' and wait_event = 'advisory')::int as gated,
               count(*) filter (where wait_event_type = 'Lock' and wait_event in ('transactionid', 'tuple'))::int
                 as locked
             from pg_stat_activity where datname = current_database()`,
          );
          return proxy.cuts === cuts + 1 && rows[0]!.gated === 1 && rows[0]!.locked === 1;
        }, 'the cut commit to wait at the gate and the retry to wait for its row lock');
        await gate.query('select pg_advisory_unlock($1)', [GATE]);
        open = false;
      });
      expect(await applied(name)).toEqual(ALL_ONCE);
    } finally {
      if (open) await gate.query('select pg_advisory_unlock($1)', [GATE]);
      await gate.end();
    }
  });
});
