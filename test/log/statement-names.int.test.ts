/**
 * Prepared statement names: Postgres keeps 63 bytes of a name, so with a long schema name (valid up to 63
 * bytes) names that differ only past byte 63 collided on a connection (`prepared statement "…" already
 * exists`). Every statement kind runs here on one connection, for schemas of several lengths, and the
 * connection's prepared statements are exactly the expected names: at most 63 bytes, one per role.
 */
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { AggregateRepository, defineAggregate } from '../../src/index.js';
import { MAX_NAME_BYTES, statementName } from '../../src/log/statement-name.js';
import { accountSpec } from '../support/account.js';
import { eventually } from '../support/assertions.js';
import { uniqueName, uniqueSchema, useEventLog } from '../support/event-log.js';
import { followNewStream } from '../support/follow-new-stream.js';

const fixture = useEventLog();

/**
 * The statements the exercise below prepares (`waiting`, a stall report's, is left out): roles, with their
 * version where it is not 1.
 */
const ROLES = [
  'append-one',
  'create-one',
  'append-arrival',
  'append-client',
  'create-arrival',
  'create-client',
  'state',
  'notify',
  'basin-marks',
  'read',
  'seek-timestamp',
  'append-many',
  'append-many-create',
  'append-many-one',
  'append-many-record',
  'append-many-create-record',
  'create-streams',
  'lookup-command',
  'read-all',
  'read-all-p',
  'read-all-h',
  'read-all-ph',
  'horizon',
  'read-events',
  'snapshot-write.v2',
];

/** A schema name of exactly `length` characters, unique in the run. */
function schemaOf(length: number): string {
  return uniqueSchema('long').padEnd(length, 'x').slice(0, length);
}

let pgWarnings: MockInstance;
beforeEach(() => {
  // pg says "Postgres only supports 63 characters for query names" on console.error before sending one.
  pgWarnings = vi.spyOn(console, 'error');
});
afterEach(() => pgWarnings.mockRestore());

describe('prepared statement names', () => {
  it.each([63, 44, 34, 9])(
    'of every statement kind are distinct and at most 63 bytes with a %i-character schema',
    async (length) => {
      const schema = schemaOf(length);
      // One connection: every statement is prepared on it, so any two names Postgres sees as one collide.
      const log = await fixture.connect({ schema, max: 1 });
      const at = (i: number) => 1_700_000_000_000 + i;
      const s = () => log.stream(uniqueName('n'));

      const one = s();
      await one.append([{ body: 'a' }], { matchSeqNum: 0 }); // create-one
      await one.append([{ body: 'b' }]); // append-one
      await s().append([{ body: 'a' }, { body: 'b' }], { matchSeqNum: 0 }); // create-arrival
      const many = s();
      await many.append([{ body: 'a', timestamp: at(1) }, { body: 'b' }], { matchSeqNum: 0 }); // create-client
      await many.append([{ body: 'c' }, { body: 'd' }]); // append-arrival
      await many.append([{ body: 'e', timestamp: at(2) }, { body: 'f' }]); // append-client
      await expect(many.append([{ body: 'x' }], { matchSeqNum: 99 })).rejects.toThrow(/matchSeqNum 99/); // state
      expect((await many.read({ seqNum: 0 })).records).toHaveLength(6); // read
      expect((await many.read({ timestamp: at(1) })).records).toHaveLength(6); // seek-timestamp

      const [a, b, c] = [uniqueName('m'), uniqueName('m'), uniqueName('m')];
      await log.appendMany([{ stream: a, records: [{ body: '1' }], matchSeqNum: 0 }], { commandId: 'c1' }); // append-many-create-record
      await log.appendMany([{ stream: a, records: [{ body: '2' }] }], { commandId: 'c2' }); // append-many-record
      await log.appendMany([
        { stream: b, records: [{ body: '1' }], matchSeqNum: 0 },
        { stream: c, records: [{ body: '1' }], matchSeqNum: 0 },
      ]); // append-many-create
      await log.appendMany([{ stream: a, records: [{ body: '3' }, { body: '4' }], matchSeqNum: 2 }]); // append-many-one
      await log.appendMany([
        { stream: b, records: [{ body: '2' }] },
        { stream: uniqueName('m'), records: [{ body: '1' }] },
      ]); // append-many, create-streams, append-many again
      expect(await log.lookupCommand('c2', [{ stream: a }])).toHaveLength(1); // lookup-command

      expect((await log.readAll()).records.length).toBeGreaterThan(0); // read-all
      await log.readAll({ filter: { streamPrefix: 'm-' } }); // read-all-p
      await log.readAll({ filter: { header: { name: 'type', values: ['x'] } } }); // read-all-h
      await log.readAll({ filter: { streamPrefix: 'm-', header: { name: 'type', values: ['x'] } } }); // read-all-ph
      await log.horizon(); // horizon

      const accounts = new AggregateRepository(
        log,
        defineAggregate({ ...accountSpec, snapshots: { every: 1, schemaVersion: 1 } }),
      );
      const id = uniqueName('acc');
      await accounts.save(id, [{ type: 'AccountOpened', data: { owner: 'ada' } }], { version: 0 });
      expect((await accounts.load(id)).version).toBe(1); // read-events, snapshot-write

      // The notifier's and the basin marks' first statements were queued on the connection by the first
      // append, before this query: the view shows every statement the log prepared on it.
      const { rows } = await log.pool.query<{ name: string }>(
        `select name from pg_prepared_statements where name like 'fencepost.%'`,
      );
      const prepared = rows.map((row) => row.name).sort();
      await log.close();

      const expected = ROLES.map((role) => {
        const [name, version] = role.split('.v');
        return statementName(schema, name!, version ? Number(version) : undefined);
      }).sort();
      expect(new Set(expected).size).toBe(ROLES.length);
      for (const name of expected) expect(Buffer.byteLength(name)).toBeLessThanOrEqual(MAX_NAME_BYTES);
      expect(prepared).toEqual(expected);
      expect(pgWarnings).not.toHaveBeenCalled();
    },
  );

  it('leave the notification channel of a 63-character schema working: a follower elsewhere is woken', async () => {
    const schema = schemaOf(63);
    // Polling is set to a minute, so only a notification can deliver within the deadlines below.
    const follower = await fixture.connect({ schema, max: 4, pollIntervalMs: 60_000 });
    const writer = await fixture.connect({ schema, max: 4 });
    const { name, seen, stop } = await followNewStream(follower, writer, 'woken');
    await eventually(() => seen.length === 1, 'the catch-up');
    for (let i = 1; i <= 3; i++) {
      await writer.stream(name).append([{ body: `w${i}` }]);
      await eventually(() => seen.length === i + 1, `record ${i} to arrive by notification`);
    }
    await stop();
    expect(seen).toEqual([0, 1, 2, 3]);
  });
});
