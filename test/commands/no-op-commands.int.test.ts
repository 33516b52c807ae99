import pg from 'pg';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandHandler, defineAggregate, defineEvent, EventLog } from '../../src/index.js';
import { Account } from '../support/account.js';
import { eventually } from '../support/assertions.js';
import { uniqueName, useEventLog } from '../support/event-log.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const fixture = useEventLog({ max: 20 });

// Renaming to the current name decides nothing: a command that is a no-op on some states.
const Renamed = defineEvent({ type: 'Renamed', schema: z.object({ name: z.string() }) });
type ThingEvent = { type: 'Renamed'; data: { name: string } };
type Rename = { type: 'Rename'; name: string };
const Thing = defineAggregate({
  name: 'thing',
  events: [Renamed],
  initialState: () => ({ name: '' }),
  evolve: (_state: { name: string }, event: ThingEvent) => ({ name: event.data.name }),
  decide: (command: Rename, state: { name: string }): ThingEvent[] =>
    state.name === command.name ? [] : [{ type: 'Renamed', data: { name: command.name } }],
});
const rename = (name: string): Rename => ({ type: 'Rename', name });

async function names(handler: CommandHandler<{ name: string }, ThingEvent, Rename>, id: string) {
  const events = await handler.repository.events(id, 0, Number.MAX_SAFE_INTEGER);
  return events.map((e) => `${e.data.name} ${e.commandId}`);
}

describe('commands that decide nothing', () => {
  it('with a command id: the id is recorded, and a repeat returns the original result', async () => {
    const things = new CommandHandler(fixture.log, Thing);
    const id = uniqueName('t');
    await things.handle(id, rename('x'), { commandId: 'make-x' });
    const first = await things.handle(id, rename('x'), { commandId: 'again-x' });
    expect(first).toMatchObject({ duplicate: false, events: [], version: 1, state: { name: 'x' } });
    await things.handle(id, rename('y'));
    const repeat = await things.handle(id, rename('x'), { commandId: 'again-x' });
    expect(repeat).toMatchObject({ duplicate: true, events: [], version: 1, state: { name: 'x' } });
    expect((await things.repository.load(id)).state.name).toBe('y');
    expect(
      await fixture.log.lookupCommand('again-x', [{ stream: things.repository.streamName(id) }]),
    ).toEqual([expect.objectContaining({ start: 1, end: 1 })]);
  });

  it('over several aggregates: the id is recorded on every one, so a repeat never applies it again', async () => {
    const things = new CommandHandler(fixture.log, Thing, { cacheSize: 0 });
    const a = uniqueName('a');
    const b = uniqueName('b');
    await things.handle(a, rename('x'));
    const items = [
      { aggregate: Thing, id: a, command: rename('x') },
      { aggregate: Thing, id: b, command: rename('y') },
    ];
    const first = await things.handleMany(items, { commandId: 'pair-1' });
    expect(first.results.map((r) => [r.events.length, r.version])).toEqual([
      [0, 1],
      [1, 1],
    ]);
    await things.handle(a, rename('w')); // a later change to the aggregate the command left alone
    const repeat = await things.handleMany(items, { commandId: 'pair-1' });
    expect(repeat.duplicate).toBe(true);
    expect(repeat.results.map((r) => [r.events.length, r.version, r.state.name])).toEqual([
      [0, 1, 'x'],
      [1, 1, 'y'],
    ]);
    expect(await names(things, a)).toEqual([expect.stringMatching(/^x /), expect.stringMatching(/^w /)]);
  });

  it('on a stale cached state: decides again on the stored state instead of returning the stale one', async () => {
    const mine = new CommandHandler(fixture.log, Thing);
    const theirs = new CommandHandler(fixture.log, Thing); // another process
    const id = uniqueName('t');
    await mine.handle(id, rename('bob')); // cached here: bob, version 1
    await theirs.handle(id, rename('alice'));
    const result = await mine.handle(id, rename('bob'));
    expect(result).toMatchObject({ version: 3, state: { name: 'bob' } });
    expect(result.events).toHaveLength(1);
    expect((await mine.repository.load(id)).state.name).toBe('bob');
  });

  it('over several aggregates: one that changed since it was read sends the command round again', async () => {
    const mine = new CommandHandler(fixture.log, Thing);
    const theirs = new CommandHandler(fixture.log, Thing);
    const a = uniqueName('a');
    const b = uniqueName('b');
    await mine.handle(a, rename('x')); // cached here: a is x
    await theirs.handle(a, rename('z'));
    const { results } = await mine.handleMany([
      { aggregate: Thing, id: a, command: rename('x') },
      { aggregate: Thing, id: b, command: rename('y') },
    ]);
    expect(results.map((r) => [r.state.name, r.version])).toEqual([
      ['x', 3],
      ['y', 1],
    ]);
  });
});

describe('an append whose outcome was unknown and which committed late', () => {
  const proxy: { current?: TcpProxy } = {};
  let log: EventLog;
  beforeAll(async () => {
    proxy.current = await TcpProxy.start(fixture.connectionString);
    log = await fixture.connect({ connectionString: proxy.current.connectionString, migrate: false });
  });
  afterAll(async () => {
    await log.close();
    await proxy.current?.close();
  });

  it.each([undefined, 'withdraw-1'])(
    'is read back, not refused on its own effect (command id %s)',
    async (commandId) => {
      const accounts = new CommandHandler(log, Account, {
        cacheSize: 0,
        retry: { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 5 },
      });
      const id = uniqueName('acc');
      await accounts.handle(id, { type: 'Open', owner: 'ada' });
      await accounts.handle(id, { type: 'Deposit', amount: 10 });
      const stream = accounts.repository.streamName(id);
      // Hold the stream's row: the append waits for it on the server, and its client is cut off meanwhile.
      const locker = new pg.Client({ connectionString: fixture.connectionString });
      await locker.connect();
      try {
        await locker.query('begin');
        await locker.query(`select 1 from "${fixture.log.schema}".streams where name = $1 for update`, [
          stream,
        ]);
        proxy.current!.cutNext({ containing: 'append-many', when: 'after-send' });
        const outcome = accounts.handle(id, { type: 'Withdraw', amount: 10 }, commandId ? { commandId } : {});
        // The orphaned append and the handler's second attempt both wait for the row.
        await eventually(async () => {
          const { rows } = await locker.query(
            `select count(*)::int as n from pg_stat_activity
             where wait_event_type = 'Lock' and datname = current_database()`,
          );
          return rows[0].n === 2;
        }, 'two appends waiting for the stream row');
        await locker.query('commit');
        const result = await outcome;
        expect(result).toMatchObject({ duplicate: false, version: 3, state: { balance: 0 } });
      } finally {
        await locker.end();
      }
      const events = await accounts.repository.events(id, 0, Number.MAX_SAFE_INTEGER);
      expect(events.map((e) => e.type)).toEqual(['AccountOpened', 'Deposited', 'Withdrawn']);
    },
  );
});
