import { describe, expect, it } from 'vitest';
import {
  AggregateRepository,
  AggregateRoot,
  CommandHandler,
  defineAggregateRoot,
  FencepostError,
  InvalidArgumentError,
} from '../../src/index.js';
import { DeciderSpec } from '../../src/testing/index.js';
import {
  Account,
  Accounts,
  Deposited,
  NotOpen,
  Opened,
  Overdrawn,
  Withdrawn,
  type AccountEvent,
} from '../support/account-root.js';
import { rejectionOf } from '../support/assertions.js';
import { uniqueName, useEventLog } from '../support/event-log.js';

const fixture = useEventLog();

const opened = { type: 'Opened', data: { owner: 'ada' } } as const;
const deposited = (amount: number) => ({ type: 'Deposited', data: { amount } }) as const;

describe('a class-style aggregate (AggregateRoot) without a database', () => {
  it('decides by calling methods on a copy: events applied, rules checked against the changed fields', () => {
    DeciderSpec.for(Accounts)
      .given([])
      .when((account) => account.open('ada'))
      .then([opened])
      .thenState({ owner: 'ada', balance: 0, history: ['opened'] });
    DeciderSpec.for(Accounts)
      .given([opened, deposited(5)])
      .when((account) => {
        account.deposit(2);
        account.withdraw(7); // sees the deposit just applied
      })
      .then([deposited(2), { type: 'Withdrawn', data: { amount: 7 } }])
      .thenState({ balance: 0 });
    DeciderSpec.for(Accounts)
      .given([opened, deposited(5)])
      .when((account) => account.withdraw(6))
      .thenThrows(Overdrawn, (error) => expect(error.balance).toBe(5));
    DeciderSpec.for(Accounts)
      .given([])
      .when((account) => account.deposit(1))
      .thenThrows(NotOpen);
  });

  it('refuses apply outside a command, an event without a handler, and a command that is not a sync function', () => {
    const account = new Account();
    const outside = (() => {
      try {
        account.open('ada');
      } catch (error) {
        return error;
      }
    })();
    expect(outside).toBeInstanceOf(FencepostError);
    expect(outside).toMatchObject({ code: 'not_a_command' });
    expect(account.owner).toBe('');

    class Partial extends AggregateRoot<AccountEvent> {
      balance = 0;
      protected onOpened(): void {}
    }
    const Partials = defineAggregateRoot(Partial, {
      name: 'partial',
      events: [Opened, Deposited, Withdrawn],
    });
    expect(() => Partials.evolve(new Partial(), deposited(1))).toThrow(
      /Partial has no method onDeposited for event "Deposited"/,
    );

    const async = () => Accounts.decide((async (a: Account) => a.open('x')) as never, new Account());
    expect(async).toThrow(InvalidArgumentError);
    expect(async).toThrow(/returned a promise; a command must decide synchronously/);
    expect(() => Accounts.decide({ type: 'Open' } as never, new Account())).toThrow(
      /a command on aggregate root-account is a function of the Account .*got \{"type":"Open"\}/,
    );
  });

  it('refuses a class that is not an AggregateRoot, a constructor with arguments, and fields no copy can hold', () => {
    class Plain {}
    expect(() => defineAggregateRoot(Plain as never, { name: 'plain', events: [Opened] })).toThrow(
      /defineAggregateRoot takes a class that extends AggregateRoot; got function Plain/,
    );
    class WithArgs extends AggregateRoot<AccountEvent> {
      constructor(readonly owner: string) {
        super();
      }
    }
    expect(() => defineAggregateRoot(WithArgs as never, { name: 'args', events: [Opened] })).toThrow(
      /WithArgs's constructor must take no arguments .*it takes 1/,
    );
    class WithFunction extends AggregateRoot<AccountEvent> {
      format = (n: number) => String(n);
      protected onOpened(): void {}
    }
    const Functions = defineAggregateRoot(WithFunction, { name: 'fn', events: [Opened] });
    expect(() => Functions.evolve(new WithFunction(), opened)).toThrow(
      /WithFunction: an aggregate's fields must be data that structuredClone copies/,
    );
  });

  it('evolve leaves the given state as it was', () => {
    const before = Accounts.evolve(new Account(), opened);
    const after = Accounts.evolve(before, deposited(3));
    expect(after).toBeInstanceOf(Account);
    expect(before).toMatchObject({ balance: 0, history: ['opened'] });
    expect(after).toMatchObject({ balance: 3, history: ['opened', '+3'] });
  });
});

describe('a class-style aggregate on the log', () => {
  it('runs commands exactly once through the command handler; the state comes back an instance', async () => {
    const commands = new CommandHandler(fixture.log, Accounts);
    const id = uniqueName('acc');
    await commands.handle(id, (account) => account.open('ada'), { expect: 'new' });
    const first = await commands.handle(id, (account) => account.deposit(5), { commandId: 'c1' });
    const again = await commands.handle(id, (account) => account.deposit(5), { commandId: 'c1' });
    expect(again.duplicate).toBe(true);
    expect(again.version).toBe(first.version);
    expect(first.state).toBeInstanceOf(Account);
    expect(first.state).toMatchObject({ owner: 'ada', balance: 5, history: ['opened', '+5'] });
    // The next commands start from the cached state, which the one before returned: each makes a new one.
    const second = await commands.handle(id, (account) => account.deposit(2));
    const third = await commands.handle(id, (account) => account.deposit(3));
    expect(third.state).toMatchObject({ balance: 10, history: ['opened', '+5', '+2', '+3'] });
    expect(second.state).toMatchObject({ balance: 7, history: ['opened', '+5', '+2'] });
    expect(first.state).toMatchObject({ balance: 5, history: ['opened', '+5'] });
    const loaded = await new AggregateRepository(fixture.log, Accounts).load(id);
    expect(loaded.version).toBe(4);
    expect(loaded.state).toBeInstanceOf(Account);
    expect({ ...loaded.state }).toEqual({ ...third.state });
  });

  it('a refused command leaves no trace, in the log or in the cached state it was decided on', async () => {
    const commands = new CommandHandler(fixture.log, Accounts);
    const id = uniqueName('acc');
    await commands.handle(id, (account) => account.open('ada'));
    const funded = await commands.handle(id, (account) => account.deposit(5));
    // withdraw applies its event (pushing to `history`, subtracting) before it refuses.
    expect(await rejectionOf(commands.handle(id, (account) => account.withdraw(9)))).toBeInstanceOf(
      Overdrawn,
    );
    expect(funded.state).toMatchObject({ balance: 5, history: ['opened', '+5'] });
    // A returned state is shared with the handler's cache: it refuses to change.
    expect(() => funded.state.deposit(1)).toThrow(/apply\("Deposited"\) outside a command/);
    const next = await commands.handle(id, (account) => account.withdraw(5));
    expect(next.version).toBe(3);
    expect(next.state).toMatchObject({ balance: 0, history: ['opened', '+5', '-5'] });
    // The state the command started from (the cached one, handed out before) is as it was.
    expect(funded.state).toMatchObject({ balance: 5, history: ['opened', '+5'] });
    const { records } = await fixture.log.stream(`root-account-${id}`).read({ seqNum: 0 });
    expect(records.map((r) => JSON.parse(r.body) as unknown)).toEqual([
      { owner: 'ada' },
      { amount: 5 },
      { amount: 5 },
    ]);
  });

  it('moves money between two instances atomically with handleMany; a refusal appends to neither', async () => {
    const commands = new CommandHandler(fixture.log, Accounts);
    const [a, b] = [uniqueName('acc'), uniqueName('acc')];
    await commands.handle(a, (account) => account.open('ada'));
    await commands.handle(a, (account) => account.deposit(10));
    await commands.handle(b, (account) => account.open('bob'));
    const transfer = (amount: number) => [
      { aggregate: Accounts, id: a, command: (account: Account) => account.withdraw(amount) },
      { aggregate: Accounts, id: b, command: (account: Account) => account.deposit(amount) },
    ];
    const moved = await commands.handleMany(transfer(4), { commandId: 't1' });
    expect(moved.results.map((r) => r.state.balance)).toEqual([6, 4]);
    expect(await rejectionOf(commands.handleMany(transfer(7)))).toBeInstanceOf(Overdrawn);
    const repository = new AggregateRepository(fixture.log, Accounts);
    expect((await repository.load(a)).state).toMatchObject({ balance: 6 });
    expect(await repository.load(b)).toMatchObject({ version: 2, state: { balance: 4 } });
  });

  it('50 concurrent deposits through retries: the balance is exact, one event each', async () => {
    const commands = new CommandHandler(fixture.log, Accounts, {
      retry: { maxAttempts: 200, baseDelayMs: 1, maxDelayMs: 20 },
    });
    const id = uniqueName('acc');
    await commands.handle(id, (account) => account.open('ada'));
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        commands.handle(id, (account) => account.deposit(i + 1), { commandId: `d${i}` }),
      ),
    );
    const { state, version } = await new AggregateRepository(fixture.log, Accounts).load(id);
    expect(version).toBe(51);
    expect(state.balance).toBe((50 * 51) / 2);
    expect(state.history).toHaveLength(51);
  });

  it('loads from a snapshot into an instance equal to a full replay', async () => {
    const Snapshotted = defineAggregateRoot(Account, {
      name: 'root-account-snap',
      events: [Opened, Deposited, Withdrawn],
      streamName: (id) => `root-account-${id}`,
      snapshots: { every: 4, schemaVersion: 1 },
    });
    const id = uniqueName('acc');
    const commands = new CommandHandler(fixture.log, Snapshotted);
    await commands.handle(id, (account) => account.open('ada'));
    for (let i = 1; i <= 9; i++) await commands.handle(id, (account) => account.deposit(i));
    const { rows } = await fixture.log.pool.query<{ version: string; state: unknown }>(
      `select version, state from "${fixture.log.schema}".snapshots where aggregate = 'root-account-snap'`,
    );
    expect(rows).toHaveLength(1);
    expect(Number(rows[0]!.version)).toBe(8);
    const fromSnapshot = await new AggregateRepository(fixture.log, Snapshotted).load(id);
    const replayed = await new AggregateRepository(fixture.log, Accounts).load(id);
    expect(fromSnapshot.version).toBe(10);
    expect(fromSnapshot.state).toBeInstanceOf(Account);
    expect({ ...fromSnapshot.state }).toEqual({ ...replayed.state });
    expect(fromSnapshot.state.balance).toBe(45);
    // The revived instance decides as a replayed one does.
    const result = await commands.handle(id, (account) => account.withdraw(45));
    expect(result.state.balance).toBe(0);
  });
});
