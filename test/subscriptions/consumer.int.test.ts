import { sql, type Transaction } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BasinNotFoundError,
  ConsumerConflictError,
  ConsumerHandlerError,
  InvalidArgumentError,
  type ConsumerBatch,
  type EventLog,
} from '../../src/index.js';
import { eventually, rejectionOf } from '../support/assertions.js';
import { uniqueName, useEventLog } from '../support/event-log.js';
import { testPool } from '../support/database.js';

const fixture = useEventLog();
let admin: pg.Pool;
beforeAll(async () => {
  admin = testPool(fixture.connectionString, 4);
  await admin.query(`create table applied (consumer text, stream text, seq_num int, body text)`);
});
afterAll(() => admin.end());

/** The read model: one row per record applied, so a record applied twice shows as two rows. */
async function apply(trx: Transaction<unknown>, consumer: string, batch: ConsumerBatch): Promise<void> {
  for (const r of batch.records) {
    await sql`insert into applied values (${consumer}, ${r.stream}, ${r.seqNum}, ${r.body})`.execute(trx);
  }
}

async function appliedBy(consumer: string): Promise<{ stream: string; seq_num: number; n: number }[]> {
  const { rows } = await admin.query(
    `select stream, seq_num, count(*)::int as n from applied where consumer = $1 group by 1, 2 order by 1, 2`,
    [consumer],
  );
  return rows;
}

/** Runs a consumer until `until` holds, then stops it; returns what run() settled with. */
async function runUntil(
  log: EventLog,
  name: string,
  until: () => boolean | Promise<boolean>,
  options: Parameters<ReturnType<EventLog['consumer']>['run']>[1] = {},
  handler = (batch: ConsumerBatch, trx: Transaction<unknown>) => apply(trx, name, batch),
  consumerOptions: Parameters<EventLog['consumer']>[1] = {},
): Promise<void> {
  const controller = new AbortController();
  const running = log.consumer(name, consumerOptions).run(handler, { ...options, signal: controller.signal });
  const outcome = running.then(
    () => undefined,
    (e: unknown) => e,
  );
  await Promise.race([eventually(until, `consumer ${name} to get there`, 20_000), outcome]);
  controller.abort();
  const error = await outcome;
  if (error) throw error;
}

describe('consumers', () => {
  it('of a basin that does not exist fails with BasinNotFoundError naming it', async () => {
    const error = await rejectionOf(
      fixture.log.consumer(uniqueName('c'), { basin: 'no-such-basin-1' }).run(async () => undefined),
    );
    expect(error).toBeInstanceOf(BasinNotFoundError);
    expect((error as BasinNotFoundError).basin).toBe('no-such-basin-1');
  });

  it('applies each record once with its checkpoint, and a restart continues where it committed', async () => {
    const name = uniqueName('once');
    const prefix = uniqueName('once-s');
    for (let i = 0; i < 30; i++) await fixture.log.stream(`${prefix}-${i % 3}`).append([{ body: `r${i}` }]);
    const filter = { streamPrefix: prefix };
    const count = async () => (await appliedBy(name)).length;
    await runUntil(fixture.log, name, async () => (await count()) === 30, {}, undefined, {
      filter,
      batchSize: 7,
    });
    for (let i = 30; i < 40; i++) await fixture.log.stream(`${prefix}-${i % 3}`).append([{ body: `r${i}` }]);
    await runUntil(fixture.log, name, async () => (await count()) === 40, {}, undefined, { filter });
    const rows = await appliedBy(name);
    expect(rows.every((r) => r.n === 1)).toBe(true);
    expect(rows).toHaveLength(40);
    const [info] = (await fixture.log.consumers.list()).filter((c) => c.name === name);
    expect(info).toMatchObject({ name, basin: 'default-basin', lastError: null, parked: 0 });
  });

  it('gives the handler a stable idempotency key per record', async () => {
    const name = uniqueName('keys');
    const stream = uniqueName('keys-s');
    await fixture.log.stream(stream).append([{ body: 'a' }, { body: 'b' }]);
    const keys: string[] = [];
    let calls = 0;
    await runUntil(
      fixture.log,
      name,
      () => keys.length === 2,
      { backoffMs: 0 },
      async (batch) => {
        if (++calls === 1) throw new Error('first try fails'); // the retry sees the same keys
        keys.push(...batch.records.map((r) => r.idempotencyKey));
      },
      { filter: { streamPrefix: stream } },
    );
    const { rows } = await admin.query(`select id from fencepost.streams where name = $1`, [stream]);
    const id = rows[0].id as string;
    expect(keys).toEqual([`default-basin/${id}/0/${stream}`, `default-basin/${id}/1/${stream}`]);
  });

  it('retries a failing handler with backoff, then stops with its position and records why', async () => {
    const name = uniqueName('stops');
    const stream = uniqueName('stops-s');
    await fixture.log.stream(stream).append([{ body: 'ok' }]);
    await fixture.log.stream(stream).append([{ body: 'poison' }, { body: 'after' }]);
    let attempts = 0;
    const run = fixture.log.consumer(name, { filter: { streamPrefix: stream } }).run(
      async (batch, trx) => {
        if (batch.records.some((r) => r.body === 'poison')) {
          attempts++;
          await apply(trx, name, batch); // written, then rolled back
          throw new Error('cannot handle poison');
        }
        await apply(trx, name, batch);
      },
      { maxAttempts: 3, backoffMs: 1 },
    );
    const error = (await rejectionOf(run)) as ConsumerHandlerError;
    expect(error).toBeInstanceOf(ConsumerHandlerError);
    expect(error.code).toBe('consumer_handler_failed');
    expect(error.attempts).toBe(3);
    expect(attempts).toBe(3);
    expect(error.message).toMatch(/cannot handle poison/);
    // Depending on how the records were paged, the good record was committed before or with the failing batch.
    const rows = await appliedBy(name);
    const [info] = (await fixture.log.consumers.list()).filter((c) => c.name === name);
    expect(info!.cursor).toBe(error.cursor);
    expect(info!.lastError).toMatch(/cannot handle poison/);
    expect(rows.map((r) => r.seq_num)).toEqual(error.seqNum === 0 ? [] : [0]);
    expect(info!.lag.records).toBeGreaterThan(0);
  });

  it('parks a poison record durably and goes on, with park: true', async () => {
    const name = uniqueName('parks');
    const stream = uniqueName('parks-s');
    await fixture.log.stream(stream).append(['a', 'b', 'poison', 'c', 'd'].map((body) => ({ body })));
    await runUntil(
      fixture.log,
      name,
      async () => (await appliedBy(name)).length === 4,
      { maxAttempts: 2, backoffMs: 0, park: true },
      async (batch, trx) => {
        if (batch.records.some((r) => r.body === 'poison')) throw new Error('poison again');
        await apply(trx, name, batch);
      },
      { filter: { streamPrefix: stream } },
    );
    expect((await appliedBy(name)).map((r) => r.seq_num)).toEqual([0, 1, 3, 4]);
    const parked = await fixture.log.consumers.parked(name);
    expect(parked).toMatchObject([{ stream, seqNum: 2, attempts: 2, error: 'Error: poison again' }]);
  });

  it('resets to the start, to the end and to a cursor', async () => {
    const name = uniqueName('reset');
    const stream = uniqueName('reset-s');
    await fixture.log.stream(stream).append(['a', 'b', 'c'].map((body) => ({ body })));
    const consumer = { filter: { streamPrefix: stream } };
    const seen: string[] = [];
    const collect = async (batch: ConsumerBatch) => void seen.push(...batch.records.map((r) => r.body));
    await runUntil(fixture.log, name, () => seen.length === 3, {}, collect, consumer);
    await fixture.log.consumers.reset(name, { to: 'start' });
    await runUntil(fixture.log, name, () => seen.length === 6, {}, collect, consumer);
    const page = await fixture.log.readAll({ filter: { streamPrefix: stream } });
    await fixture.log.consumers.reset(name, { to: page.records[0]!.cursor });
    await runUntil(fixture.log, name, () => seen.length === 8, {}, collect, consumer);
    expect(seen).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'b', 'c']);
    const end = await fixture.log.consumers.reset(name, { to: 'end' });
    const [info] = (await fixture.log.consumers.list()).filter((c) => c.name === name);
    expect(info!.cursor).toBe(end);
    await expect(fixture.log.consumers.reset(name, { to: 'garbage' })).rejects.toThrow(InvalidArgumentError);
    expect(() => fixture.log.consumer('bad name!')).toThrow(/consumer name/);
    expect(await fixture.log.consumers.delete(name)).toBe(true);
    expect((await fixture.log.consumers.list()).find((c) => c.name === name)).toBeUndefined();
  });

  it('of two instances racing for a batch, the loser rolls its batch back and is told why', async () => {
    const name = uniqueName('duel');
    const stream = uniqueName('duel-s');
    await fixture.log.stream(stream).append([{ body: 'contested' }]);
    const filter = { streamPrefix: stream };
    const url = new URL(fixture.connectionString);
    url.searchParams.set('application_name', 'fp-duel-b');
    const logB = await fixture.connect({ connectionString: url.toString(), max: 4 });
    let releaseA!: () => void;
    const aHolds = new Promise<void>((resolve) => (releaseA = resolve));
    let aInHandler = false;
    const controllerA = new AbortController();
    const runA = fixture.log.consumer(name, { filter }).run(
      async (batch, trx) => {
        await apply(trx, `${name}-a`, batch);
        aInHandler = true;
        await aHolds; // holds its transaction open until B waits on the checkpoint's row lock
      },
      { signal: controllerA.signal },
    );
    await eventually(() => aInHandler, 'A inside its batch');
    let bRan = false;
    const runB = logB.consumer(name, { filter }).run(async (batch, trx) => {
      bRan = true;
      await apply(trx, `${name}-b`, batch);
    });
    await eventually(async () => {
      const { rows } = await admin.query(
        `select 1 from pg_stat_activity where application_name = 'fp-duel-b' and wait_event_type = 'Lock'`,
      );
      return rows.length > 0;
    }, 'B to wait for the checkpoint row');
    releaseA();
    const error = (await rejectionOf(runB)) as ConsumerConflictError;
    expect(error).toBeInstanceOf(ConsumerConflictError);
    expect(error.code).toBe('consumer_conflict');
    expect(error.expectedVersion).toBe(0);
    expect(error.version).toBe(1);
    expect(bRan).toBe(false);
    controllerA.abort();
    await runA;
    expect(await appliedBy(`${name}-a`)).toEqual([{ stream, seq_num: 0, n: 1 }]);
    expect(await appliedBy(`${name}-b`)).toEqual([]);
  });

  it('two instances following the same consumer apply every record exactly once between them', async () => {
    const name = uniqueName('pair');
    const prefix = uniqueName('pair-s');
    const filter = { streamPrefix: prefix };
    const other = await fixture.connect({ max: 4 });
    const controller = new AbortController();
    const options = { signal: controller.signal, onConflict: 'continue' as const };
    const handler = (batch: ConsumerBatch, trx: Transaction<unknown>) => apply(trx, name, batch);
    const runs = [
      fixture.log.consumer(name, { filter, batchSize: 5 }).run(handler, options),
      other.consumer(name, { filter, batchSize: 5 }).run(handler, options),
    ];
    const total = 600;
    await Promise.all(
      Array.from({ length: 6 }, async (_, w) => {
        for (let i = w; i < total; i += 6)
          await fixture.log.stream(`${prefix}-${i % 5}`).append([{ body: `r${i}` }]);
      }),
    );
    await eventually(async () => (await appliedBy(name)).length === total, 'every record', 20_000);
    controller.abort();
    await Promise.all(runs);
    const rows = await appliedBy(name);
    expect(rows.filter((r) => r.n !== 1)).toEqual([]);
    expect(rows).toHaveLength(total);
  });
});
