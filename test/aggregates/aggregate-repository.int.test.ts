import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { z } from 'zod';
import {
  AggregateRepository,
  ClosedError,
  defineAggregate,
  defineEvent,
  EventDecodeError,
  InvalidArgumentError,
  SeqNumMismatchError,
} from '../../src/index.js';
import { Account, accountSpec, DatedAccountState } from '../support/account.js';
import { rejectionOf } from '../support/assertions.js';
import { uniqueName, uniqueSchema, useEventLog } from '../support/event-log.js';
import { revertMigrations } from '../support/migrations.js';

const fixture = useEventLog();

const opened = { type: 'AccountOpened', data: { owner: 'ada' } } as const;
const deposit = (amount: number) => ({ type: 'Deposited', data: { amount, currency: 'EUR' } }) as const;

describe('AggregateRepository', () => {
  it('loads a missing aggregate as the initial state at version 0, and saves with matchSeqNum', async () => {
    const repository = new AggregateRepository(fixture.log, Account);
    const id = uniqueName('acc');
    expect(repository.streamName(id)).toBe(`account-${id}`);
    expect(await repository.load(id)).toEqual({
      state: { opened: false, owner: '', balance: 0 },
      version: 0,
    });
    const saved = await repository.save(id, [opened, deposit(5)], { version: 0, correlationId: 'corr' });
    expect(saved.version).toBe(2);
    expect(saved.events[1]).toMatchObject({
      type: 'Deposited',
      data: { amount: 5, currency: 'EUR' },
      seqNum: 1,
    });
    expect(saved.events[1]).toMatchObject({ correlationId: 'corr', version: 2, streamName: `account-${id}` });
    expect(await repository.load(id)).toEqual({
      state: { opened: true, owner: 'ada', balance: 5 },
      version: 2,
    });
    expect(await rejectionOf(repository.save(id, [deposit(1)], { version: 1 }))).toBeInstanceOf(
      SeqNumMismatchError,
    );
    // Read back, the events are the ones the save returned.
    expect(await repository.events(id, 0, 2)).toEqual(saved.events);
  });

  it('stores events as records with type, version and event id headers and a JSON body', async () => {
    const repository = new AggregateRepository(fixture.log, Account);
    const id = uniqueName('acc');
    const saved = await repository.save(id, [opened], {
      version: 0,
      commandId: 'c',
      causationId: 'k',
      metadata: { user: 'u1' },
    });
    const { records } = await fixture.log.stream(`account-${id}`).read({ seqNum: 0 });
    expect(records[0]!.headers).toEqual([
      ['type', 'AccountOpened'],
      ['version', '1'],
      ['event-id', saved.events[0]!.eventId],
      ['command-id', 'c'],
      ['causation-id', 'k'],
      ['metadata', '{"user":"u1"}'],
    ]);
    expect(JSON.parse(records[0]!.body)).toEqual({ owner: 'ada' });
    expect(saved.events[0]!.eventId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses events the schema rejects before writing anything', async () => {
    const repository = new AggregateRepository(fixture.log, Account);
    const id = uniqueName('acc');
    const error = await rejectionOf(repository.save(id, [opened, deposit(-1)], { version: 0 }));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(/Deposited v2: data\.amount/);
    expect((await repository.load(id)).version).toBe(0);
  });

  it('refuses, before writing, events whose data would not read back as written', async () => {
    const Scheduled = defineEvent({ type: 'Scheduled', schema: z.object({ at: z.date() }) });
    const Counted = defineEvent({
      type: 'Counted',
      schema: z.object({ n: z.number().transform((n) => n + 1) }),
    });
    const Meeting = defineAggregate({
      name: 'meeting',
      events: [Scheduled, Counted],
      initialState: () => ({}),
      evolve: (state: object) => state,
      decide: () => [],
    });
    const repository = new AggregateRepository(fixture.log, Meeting);
    const id = uniqueName('m');
    const events = [
      { type: 'Scheduled', data: { at: new Date() } },
      { type: 'Counted', data: { n: 1 } },
    ] as const;
    for (const event of events) {
      const error = await rejectionOf(repository.save(id, [event as never], { version: 0 }));
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toMatch(new RegExp(`${event.type} v1: .*read back`));
    }
    expect((await repository.load(id)).version).toBe(0);
  });

  it('upcasts v1 records to v2 on read', async () => {
    const id = uniqueName('acc');
    await fixture.log.stream(`account-${id}`).append([
      {
        headers: [
          ['type', 'AccountOpened'],
          ['version', '1'],
          ['event-id', 'e1'],
        ],
        body: '{"owner":"ada"}',
      },
      {
        headers: [
          ['type', 'Deposited'],
          ['version', '1'],
          ['event-id', 'e2'],
        ],
        body: '{"amount":7}',
      },
    ]);
    const repository = new AggregateRepository(fixture.log, Account);
    const [, event] = await repository.events(id, 0, 2);
    expect(event).toMatchObject({ type: 'Deposited', version: 1, data: { amount: 7, currency: 'EUR' } });
    expect((await repository.load(id)).state.balance).toBe(7);
  });

  it('reads every event header back as written, however Postgres prints the header text', async () => {
    const id = uniqueName('acc');
    const stream = fixture.log.stream(`account-${id}`);
    const header = (...pairs: [string, string][]) => pairs;
    await stream.append(
      [
        // the codec's own order, with every envelope header
        header(
          ['type', 'AccountOpened'],
          ['version', '1'],
          ['event-id', 'e0'],
          ['command-id', 'c'],
          ['correlation-id', 'r'],
          ['causation-id', 'k'],
        ),
        // another order; names that begin like the event's; a name twice (the last one counts)
        header(
          ['event-idx', 'no'],
          ['types', 'no'],
          ['version', '2'],
          ['type', 'Closed'],
          ['event-id', 'e1'],
          ['type', 'Deposited'],
        ),
        // values Postgres quotes: spaces, commas, braces, quotes, backslashes, empty, NULL; and metadata
        header(
          ['type', 'Deposited'],
          ['version', '2'],
          ['event-id', 'a "b", {c} \\d'],
          ['command-id', ''],
          ['correlation-id', 'NULL'],
          ['metadata', '{"who":"ada lovelace"}'],
        ),
        // no event id
        header(['type', 'Deposited'], ['version', '2']),
      ].map((headers, i) => ({
        headers,
        body: i === 0 ? '{"owner":"ada"}' : '{"amount":1,"currency":"EUR"}',
      })),
    );
    const repository = new AggregateRepository(fixture.log, Account);
    const events = await repository.events(id, 0, 4);
    const { records } = await stream.read({ seqNum: 0, count: 4 });
    expect(events).toEqual(records.map((record) => Account.codec.decode(record, stream.name)));
    expect(events.map(({ type, eventId }) => [type, eventId])).toEqual([
      ['AccountOpened', 'e0'],
      ['Deposited', 'e1'],
      ['Deposited', 'a "b", {c} \\d'],
      ['Deposited', ''],
    ]);
    expect(events[0]).toMatchObject({ commandId: 'c', correlationId: 'r', causationId: 'k' });
    expect(events[2]).toMatchObject({
      commandId: '',
      correlationId: 'NULL',
      metadata: { who: 'ada lovelace' },
    });
    expect((await repository.load(id)).state.balance).toBe(3);
  });

  it('fails loudly, naming stream, seqNum and type, on records it cannot decode', async () => {
    const repository = new AggregateRepository(fixture.log, Account);
    const cases: [string, string, string, string][] = [
      ['Closed', '1', '{}', 'unknown_type'],
      ['Deposited', '3', '{"amount":1,"currency":"EUR"}', 'bad_version'],
      ['Deposited', '2', '{"amount":"lots","currency":"EUR"}', 'invalid_data'],
      ['Deposited', '2', 'not json', 'bad_json'],
    ];
    for (const [type, version, body, reason] of cases) {
      const id = uniqueName('acc');
      const stream = fixture.log.stream(`account-${id}`);
      await repository.save(id, [opened], { version: 0 });
      await stream.append([
        {
          headers: [
            ['type', type],
            ['version', version],
            ['event-id', 'x'],
          ],
          body,
        },
      ]);
      const error = await rejectionOf(repository.load(id));
      expect(error).toBeInstanceOf(EventDecodeError);
      expect(error).toMatchObject({ stream: stream.name, seqNum: 1, type, reason, code: 'event_decode' });
      expect((error as Error).message).toContain(`record 1 of stream "${stream.name}"`);
    }
    const id = uniqueName('acc');
    await fixture.log.stream(`account-${id}`).append([{ body: 'plain record' }]);
    expect(await rejectionOf(repository.load(id))).toMatchObject({ reason: 'missing_type', seqNum: 0 });
  });

  it('loads an aggregate of more events than one page holds', async () => {
    const repository = new AggregateRepository(fixture.log, Account);
    const id = uniqueName('acc');
    await repository.save(id, [opened], { version: 0 });
    const total = 10_500;
    for (let version = 1; version <= total; version += 1000) {
      const n = Math.min(1000, total + 1 - version);
      await repository.save(
        id,
        Array.from({ length: n }, () => deposit(2)),
        { version },
      );
    }
    expect(await repository.load(id)).toEqual({
      state: { opened: true, owner: 'ada', balance: 2 * total },
      version: total + 1,
    });
  });

  it('refuses to rebuild an aggregate whose early events were trimmed', async () => {
    const repository = new AggregateRepository(fixture.log, Account);
    const id = uniqueName('acc');
    await repository.save(id, [opened, deposit(1), deposit(2)], { version: 0 });
    await fixture.log.stream(`account-${id}`).trim(2);
    expect(await rejectionOf(repository.load(id))).toMatchObject({ code: 'stream_gap' });
  });

  it('ends a load that waits for a connection when the log closes, as the log does its own work', async () => {
    const log = await fixture.connect({ max: 1 });
    const repository = new AggregateRepository(log, Account);
    const id = uniqueName('acc');
    await repository.save(id, [opened], { version: 0 });
    const held = await log.pool.connect(); // the pool's one connection
    const loading = repository.load(id);
    const closing = log.close();
    expect(await rejectionOf(loading)).toBeInstanceOf(ClosedError);
    held.release();
    await closing;
  });

  it('names streams by an overridable rule', async () => {
    const Custom = defineAggregate({ ...accountSpec, name: 'acct', streamName: (id) => `bank/${id}` });
    const repository = new AggregateRepository(fixture.log, Custom);
    await repository.save('7', [opened], { version: 0 });
    expect(await fixture.log.stream('bank/7').checkTail()).toMatchObject({ seqNum: 1 });
  });
});

describe('snapshots', () => {
  const Snapshotted = defineAggregate({ ...accountSpec, snapshots: { every: 10, schemaVersion: 1 } });

  async function seed(id: string, deposits: number): Promise<void> {
    const plain = new AggregateRepository(fixture.log, Account);
    await plain.save(id, [opened], { version: 0 });
    for (let i = 0; i < deposits; i += 50) {
      const batch = Array.from({ length: Math.min(50, deposits - i) }, (_, k) => deposit(i + k + 1));
      const { version } = await plain.load(id);
      await plain.save(id, batch, { version });
    }
  }

  async function snapshotRows(stream: string): Promise<{ schema_version: number; version: string }[]> {
    const client = new pg.Client({ connectionString: fixture.connectionString });
    await client.connect();
    try {
      const { rows } = await client.query(
        `select sn.schema_version, sn.version from fencepost.snapshots sn
         join fencepost.streams s on s.id = sn.stream_id where s.name = $1 order by sn.schema_version`,
        [stream],
      );
      return rows;
    } finally {
      await client.end();
    }
  }

  /** Overwrites the balance in a stream's snapshots, as if they had been written wrong. */
  async function setSnapshotBalance(stream: string, balance: number): Promise<void> {
    const client = new pg.Client({ connectionString: fixture.connectionString });
    await client.connect();
    try {
      await client.query(
        `update fencepost.snapshots set state = jsonb_set(state, '{balance}', to_jsonb($2::int))
         where stream_id = (select id from fencepost.streams where name = $1)`,
        [stream, balance],
      );
    } finally {
      await client.end();
    }
  }

  it('loads from the snapshot plus the tail the same state as a full replay', async () => {
    const id = uniqueName('snap');
    await seed(id, 123);
    const full = await new AggregateRepository(fixture.log, Account).load(id);
    const repository = new AggregateRepository(fixture.log, Snapshotted);
    expect(await repository.load(id)).toEqual(full); // takes a snapshot at 124
    expect(await snapshotRows(`account-${id}`)).toEqual([{ schema_version: 1, version: '124' }]);
    await repository.save(id, [deposit(1000)], { version: full.version, state: undefined });
    const after = await repository.load(id); // snapshot at 124 + 1 event
    expect(after).toEqual({ state: { ...full.state, balance: full.state.balance + 1000 }, version: 125 });
    expect(after).toEqual(await new AggregateRepository(fixture.log, Account).load(id));
  });

  it('uses the snapshot instead of the events it covers', async () => {
    const id = uniqueName('snap');
    await seed(id, 30);
    const repository = new AggregateRepository(fixture.log, Snapshotted);
    const { state } = await repository.load(id);
    // Tamper with the snapshot: a load that read it (and not the events) shows the tampered balance.
    await setSnapshotBalance(`account-${id}`, -1);
    expect((await repository.load(id)).state).toEqual({ ...state, balance: -1 });
  });

  it('ignores snapshots of another state schema version', async () => {
    const id = uniqueName('snap');
    await seed(id, 30);
    await new AggregateRepository(fixture.log, Snapshotted).load(id);
    // v2 of the state: the balance in cents. A v1 snapshot read as v2 would be off by 100×.
    const Cents = defineAggregate({
      ...accountSpec,
      evolve: (state, event) =>
        event.type === 'Deposited'
          ? { ...state, balance: state.balance + 100 * event.data.amount }
          : accountSpec.evolve(state, event),
      snapshots: { every: 10, schemaVersion: 2 },
    });
    const loaded = await new AggregateRepository(fixture.log, Cents).load(id);
    expect(loaded.state.balance).toBe(100 * ((30 * 31) / 2));
    expect(await snapshotRows(`account-${id}`)).toEqual([
      { schema_version: 1, version: '31' },
      { schema_version: 2, version: '31' },
    ]);
  });

  it('replays from the start when the state schema refuses the snapshot', async () => {
    const id = uniqueName('snap');
    await seed(id, 30);
    const full = await new AggregateRepository(fixture.log, Account).load(id);
    const checked = defineAggregate({
      ...accountSpec,
      snapshots: {
        every: 10,
        schemaVersion: 1,
        schema: z.object({ opened: z.boolean(), owner: z.string(), balance: z.number().nonnegative() }),
      },
    });
    const repository = new AggregateRepository(fixture.log, checked);
    await repository.load(id); // takes the snapshot at 31
    await setSnapshotBalance(`account-${id}`, -1);
    // A load that used the refused snapshot would show balance -1, or fold events onto it.
    expect(await repository.load(id)).toEqual(full);
  });

  it('takes a snapshot of the state after the events when a save passes a multiple of every', async () => {
    const id = uniqueName('snap');
    const repository = new AggregateRepository(fixture.log, Snapshotted);
    await repository.save(id, [opened], { version: 0 });
    const loaded = await repository.load(id);
    // The loaded aggregate as it is: its state is the state at its version, before the new events.
    await repository.save(
      id,
      Array.from({ length: 11 }, (_, i) => deposit(i + 1)),
      loaded,
    );
    expect(await snapshotRows(`account-${id}`)).toEqual([{ schema_version: 1, version: '12' }]);
    // The load starts from that snapshot (at the tail): it holds the deposits.
    expect(await repository.load(id)).toEqual({
      state: { opened: true, owner: 'ada', balance: 66 },
      version: 12,
    });
  });

  it('fails no save after its append: an evolve that throws leaves the snapshot out, and the events stand', async () => {
    const Fragile = defineAggregate({
      ...accountSpec,
      name: 'fragile',
      evolve: (state, event) => {
        if (event.type === 'Deposited' && event.data.amount === 13) throw new Error('unlucky');
        return accountSpec.evolve(state, event);
      },
      snapshots: { every: 2, schemaVersion: 1 },
    });
    const repository = new AggregateRepository(fixture.log, Fragile);
    const id = uniqueName('fragile');
    const saved = await repository.save(id, [opened, deposit(13)], {
      version: 0,
      state: Fragile.initialState(),
    });
    expect(saved.version).toBe(2);
    expect(await snapshotRows(`account-${id}`)).toEqual([]);
  });

  it("writes the snapshot of a save only to the stream whose last record is that save's", async () => {
    const id = uniqueName('guarded');
    const repository = new AggregateRepository(
      fixture.log,
      defineAggregate({ ...accountSpec, snapshots: { every: 2, schemaVersion: 1 } }),
    );
    const saved = await repository.save(id, [opened, deposit(1)], { version: 0 });
    const state = repository.evolveAll(accountSpec.initialState(), saved.events);
    // As if the stream had been deleted and created again between the append and the snapshot's write:
    // its record 1 is not the save's last event.
    await repository.snapshotAfter(id, 0, 2, () => state, 'some other event id');
    expect(await snapshotRows(`account-${id}`)).toEqual([]);
    await repository.snapshotAfter(id, 0, 2, () => state, saved.events[1]!.eventId);
    expect(await snapshotRows(`account-${id}`)).toEqual([{ schema_version: 1, version: '2' }]);
  });

  it("keeps each aggregate's snapshots apart when two aggregates read the same stream", async () => {
    const id = uniqueName('snap');
    await seed(id, 30);
    const Counted = defineAggregate({
      name: 'account-events',
      events: accountSpec.events,
      streamName: (id) => `account-${id}`,
      initialState: () => ({ events: 0 }),
      evolve: (state: { events: number }) => ({ events: state.events + 1 }),
      decide: () => [],
      snapshots: { every: 10, schemaVersion: 1 },
    });
    await new AggregateRepository(fixture.log, Snapshotted).load(id); // the account's snapshot at 31
    expect(await new AggregateRepository(fixture.log, Counted).load(id)).toEqual({
      state: { events: 31 },
      version: 31,
    });
    expect((await new AggregateRepository(fixture.log, Snapshotted).load(id)).state.balance).toBe(465);
  });

  it("keeps what the state schema makes of a snapshot (coerced values), as a replay's state has them", async () => {
    const Stamped = defineAggregate({
      ...accountSpec,
      name: 'stamped',
      initialState: () => ({ ...accountSpec.initialState(), since: new Date(0) }),
      evolve: (state: ReturnType<typeof accountSpec.initialState> & { since: Date }, event) => ({
        ...accountSpec.evolve(state, event),
        since: event.type === 'AccountOpened' ? new Date(86_400_000) : state.since,
      }),
      snapshots: {
        every: 10,
        schemaVersion: 1,
        schema: DatedAccountState,
      },
    });
    const repository = new AggregateRepository(fixture.log, Stamped);
    const id = uniqueName('stamped');
    await repository.save(id, [opened, ...Array.from({ length: 11 }, () => deposit(1))], {
      version: 0,
      state: Stamped.initialState(),
    });
    const loaded = await repository.load(id);
    expect(loaded.state.since).toEqual(new Date(86_400_000));
  });

  it('drops the snapshots of a log written before they named their aggregate, and takes new ones', async () => {
    const schema = uniqueSchema('snapshots');
    const log = await fixture.connect({ schema });
    const repository = new AggregateRepository(log, Snapshotted);
    const id = uniqueName('old');
    await repository.save(id, [opened, ...Array.from({ length: 11 }, () => deposit(1))], { version: 0 });
    await revertMigrations(log.pool, schema, '0006_record_offsets');
    // A snapshot of the old shape, of some other aggregate's state.
    await log.pool.query(
      `insert into "${schema}".snapshots (stream_id, schema_version, version, state)
       select id, 1, 12, '{"events": 12}' from "${schema}".streams where name = $1`,
      [`account-${id}`],
    );
    await log.close();
    const again = await fixture.connect({ schema });
    expect(await new AggregateRepository(again, Snapshotted).load(id)).toEqual({
      state: { opened: true, owner: 'ada', balance: 11 },
      version: 12,
    });
    const { rows } = await again.pool.query(`select aggregate, version from "${schema}".snapshots`);
    expect(rows).toEqual([{ aggregate: 'account', version: '12' }]);
  });

  it('fails no load when the snapshot it takes cannot be stored', async () => {
    const id = uniqueName('snap');
    await seed(id, 30);
    // A state the snapshot store cannot hold (JSON has no bigint): the load stands, without a snapshot.
    const Huge = defineAggregate({
      ...accountSpec,
      name: 'huge',
      streamName: (id) => `account-${id}`,
      initialState: () => ({ ...accountSpec.initialState(), big: 1n }),
      evolve: (state: ReturnType<typeof accountSpec.initialState> & { big: bigint }, event) => ({
        ...accountSpec.evolve(state, event),
        big: state.big,
      }),
      snapshots: { every: 10, schemaVersion: 1 },
    });
    expect((await new AggregateRepository(fixture.log, Huge).load(id)).version).toBe(31);
  });
});
