import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IndefiniteAppendError, type EventLog } from '../../src/index.js';
import { uniqueName, useEventLog } from '../support/event-log.js';

const fixture = useEventLog();
let victim: EventLog;
let admin: pg.Pool;

beforeAll(async () => {
  const url = new URL(fixture.connectionString);
  url.searchParams.set('application_name', 'fp-victim');
  victim = await fixture.connect({ connectionString: url.toString(), max: 4 });
  admin = new pg.Pool({ connectionString: fixture.connectionString, max: 2 });
});
afterAll(() => admin.end());

/** Terminates every backend of the victim log that is running a statement (or every one, with `all`). */
async function terminateVictims(all = false): Promise<number> {
  const { rows } = await admin.query<{ ok: boolean }>(
    `select pg_terminate_backend(pid) as ok from pg_stat_activity
     where application_name = 'fp-victim' and ($1 or state = 'active')`,
    [all],
  );
  return rows.length;
}

async function poll<T>(probe: () => Promise<T | undefined>, what: string, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('a backend terminated during an append', () => {
  it('writes nothing when killed while waiting for the row lock, and the stream goes on at the right seqNum', async () => {
    const name = uniqueName('terminated');
    await fixture.log.stream(name).append([{ body: 'first' }]);
    const blocker = await admin.connect();
    try {
      await blocker.query('begin');
      await blocker.query(`select 1 from fencepost.streams where name = $1 for update`, [name]);
      const append = victim.stream(name).append(
        Array.from({ length: 10 }, (_, i) => ({ body: `doomed ${i}` })),
        { matchSeqNum: 1 },
      );
      const settled = append.then(
        () => undefined,
        (error: unknown) => error,
      );
      await poll(async () => {
        const { rows } = await admin.query(
          `select pid from pg_stat_activity where application_name = 'fp-victim' and wait_event_type = 'Lock'`,
        );
        return rows[0];
      }, 'the append to wait for the lock');
      expect(await terminateVictims()).toBe(1);
      const error = await settled;
      expect(error).toBeInstanceOf(IndefiniteAppendError);
      expect((error as IndefiniteAppendError).indefinite).toBe(true);
    } finally {
      await blocker.query('rollback');
      blocker.release();
    }
    const stream = fixture.log.stream(name);
    expect(await stream.checkTail()).toMatchObject({ seqNum: 1 });
    // The indefinite outcome resolves by retrying with the same matchSeqNum: it lands once.
    const ack = await victim.stream(name).append([{ body: 'retried' }], { matchSeqNum: 1 });
    expect(ack.start.seqNum).toBe(1);
    const { records } = await stream.read({ seqNum: 0 });
    expect(records.map((r) => r.body)).toEqual(['first', 'retried']);
  });

  it('leaves each 1000-record batch all there or not there at all, killed at random moments', async () => {
    const name = uniqueName('all-or-nothing');
    const stream = victim.stream(name);
    const batch = Array.from({ length: 1000 }, (_, i) => ({ body: `record ${i} `.padEnd(200, '.') }));
    let indefinite = 0;
    let landed = 0;
    for (let round = 0; round < 12; round++) {
      const append = stream.append(batch).then(
        () => 'ok' as const,
        (error: unknown) => error,
      );
      // Kill at a random point while the statement may be running (possibly after it finished).
      await new Promise((r) => setTimeout(r, Math.random() * 15));
      await terminateVictims();
      const outcome = await append;
      if (outcome === 'ok') landed++;
      else {
        expect(outcome).toBeInstanceOf(IndefiniteAppendError);
        indefinite++;
      }
      const tail = await fixture.log
        .stream(name)
        .checkTail()
        .catch(() => ({ seqNum: 0 }));
      expect(tail.seqNum % 1000).toBe(0);
    }
    const tail = await fixture.log.stream(name).checkTail();
    const records: number[] = [];
    for await (const record of fixture.log.stream(name).readSession({ seqNum: 0 }))
      records.push(record.seqNum);
    expect(records).toEqual(Array.from({ length: tail.seqNum }, (_, i) => i));
    expect(tail.seqNum).toBeGreaterThanOrEqual(landed * 1000);
    expect(landed + indefinite).toBe(12);
  });
});
