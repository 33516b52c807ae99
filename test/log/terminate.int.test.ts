import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IndefiniteAppendError, StorageError, type EventLog } from '../../src/index.js';
import { eventually } from '../support/assertions.js';
import { uniqueName, useEventLog } from '../support/event-log.js';
import { testPool } from '../support/database.js';

const fixture = useEventLog();
let victim: EventLog;
let admin: pg.Pool;

beforeAll(async () => {
  const url = new URL(fixture.connectionString);
  url.searchParams.set('application_name', 'fp-victim');
  victim = await fixture.connect({ connectionString: url.toString(), max: 4 });
  admin = testPool(fixture.connectionString);
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
      await eventually(async () => {
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
    const tailNow = () =>
      fixture.log
        .stream(name)
        .checkTail()
        .then(
          (t) => t.seqNum,
          () => 0, // not created yet
        );
    const outcomes = { ok: 0, definite: 0, indefinite: 0 };
    for (let round = 0; round < 12; round++) {
      const before = await tailNow();
      const append = stream.append(batch).then(
        () => 'ok' as const,
        (error: unknown) => error,
      );
      // Kill at a random point while the statement may be running (possibly after it finished).
      await new Promise((r) => setTimeout(r, Math.random() * 15));
      await terminateVictims();
      const outcome = await append;
      const after = await tailNow();
      if (outcome === 'ok') {
        outcomes.ok++;
        expect(after).toBe(before + 1000);
      } else if (outcome instanceof IndefiniteAppendError) {
        // Killed with the append in flight: it either committed whole or not at all.
        outcomes.indefinite++;
        expect([before, before + 1000]).toContain(after);
      } else {
        // Killed while asking why nothing matched (the first append creates the stream): definite.
        expect(outcome).toBeInstanceOf(StorageError);
        outcomes.definite++;
        expect(after).toBe(before);
      }
    }
    const tail = await tailNow();
    const records: number[] = [];
    for await (const record of fixture.log.stream(name).readSession({ seqNum: 0 }))
      records.push(record.seqNum);
    expect(records).toEqual(Array.from({ length: tail }, (_, i) => i));
    expect(outcomes.ok + outcomes.definite + outcomes.indefinite).toBe(12);
  });
});
