import { describe, expect, it } from 'vitest';
import {
  AggregateAlreadyExistsError,
  AggregateNotFoundError,
  CommandHandler,
  ConcurrencyConflictError,
  InvalidArgumentError,
  type CommandResult,
} from '../../src/index.js';
import {
  Account,
  AccountNotOpen,
  InsufficientFunds,
  type AccountEvent,
  type AccountState,
} from '../support/account.js';
import { rejectionOf } from '../support/assertions.js';
import { uniqueName, useEventLog } from '../support/event-log.js';

const fixture = useEventLog({ max: 20 });

function handler(retry = { maxAttempts: 100, baseDelayMs: 1, maxDelayMs: 20 }) {
  return new CommandHandler(fixture.log, Account, { retry });
}

async function deposits(id: string): Promise<number> {
  const events = await handler().repository.events(id, 0, Number.MAX_SAFE_INTEGER);
  return events.filter((e) => e.type === 'Deposited').length;
}

/** A result without the flag that tells the original from its duplicates. */
function withoutFlag(result: CommandResult<AccountState, AccountEvent>) {
  return { ...result, duplicate: undefined };
}

describe('CommandHandler.handle', () => {
  it('loads, decides and appends; the events carry command, correlation and causation ids', async () => {
    const commands = handler();
    const id = uniqueName('h');
    const opened = await commands.handle(id, { type: 'Open', owner: 'ada' }, { expect: 'new' });
    expect(opened).toMatchObject({ id, streamName: `account-${id}`, version: 1, duplicate: false });
    const result = await commands.handle(
      id,
      { type: 'Deposit', amount: 5 },
      { commandId: 'dep-1', correlationId: 'corr-1', metadata: { user: 'u' } },
    );
    expect(result.state).toEqual({ opened: true, owner: 'ada', balance: 5 });
    expect(result.events).toHaveLength(1);
    expect(result.events[0]).toMatchObject({
      type: 'Deposited',
      seqNum: 1,
      commandId: 'dep-1',
      correlationId: 'corr-1',
      causationId: 'dep-1',
      metadata: { user: 'u' },
    });
    // Without a command id, a random one is recorded and used as the correlation id.
    expect(opened.events[0]!.commandId).toMatch(/^[0-9a-f-]{36}$/);
    expect(opened.events[0]!.correlationId).toBe(opened.events[0]!.commandId);
    expect(await commands.repository.events(id, 0, 2)).toEqual([...opened.events, ...result.events]);
  });

  it('throws domain errors as they are, without retrying or appending', async () => {
    const commands = handler();
    const id = uniqueName('h');
    expect(await rejectionOf(commands.handle(id, { type: 'Deposit', amount: 5 }))).toBeInstanceOf(
      AccountNotOpen,
    );
    await commands.handle(id, { type: 'Open', owner: 'ada' });
    const error = await rejectionOf(commands.handle(id, { type: 'Withdraw', amount: 5 }));
    expect(error).toBeInstanceOf(InsufficientFunds);
    expect(error).toMatchObject({ code: 'insufficient_funds', balance: 0, amount: 5 });
    expect((await commands.repository.load(id)).version).toBe(1);
  });

  it("checks expect: 'new' and 'existing'", async () => {
    const commands = handler();
    const id = uniqueName('h');
    const missing = await rejectionOf(
      commands.handle(id, { type: 'Deposit', amount: 1 }, { expect: 'existing' }),
    );
    expect(missing).toBeInstanceOf(AggregateNotFoundError);
    expect(missing).toMatchObject({ code: 'aggregate_not_found', id });
    await commands.handle(id, { type: 'Open', owner: 'ada' }, { expect: 'new' });
    const exists = await rejectionOf(commands.handle(id, { type: 'Open', owner: 'bob' }, { expect: 'new' }));
    expect(exists).toBeInstanceOf(AggregateAlreadyExistsError);
    expect(exists).toMatchObject({ code: 'aggregate_already_exists', version: 1 });
  });

  it("lets exactly one of racing 'new' commands create the aggregate", async () => {
    const commands = handler();
    const id = uniqueName('h');
    const outcomes = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        commands.handle(id, { type: 'Open', owner: `o${i}` }, { expect: 'new' }),
      ),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const o of outcomes) {
      if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(AggregateAlreadyExistsError);
    }
    expect((await commands.repository.load(id)).version).toBe(1);
  });

  it('refuses bad options before anything is written', async () => {
    const commands = handler();
    const id = uniqueName('h');
    for (const options of [{ commandId: '' }, { expect: 'maybe' }, { metadata: 5 }, { extra: 1 }]) {
      const error = await rejectionOf(commands.handle(id, { type: 'Open', owner: 'a' }, options as never));
      expect(error).toBeInstanceOf(InvalidArgumentError);
    }
    expect(() => new CommandHandler(fixture.log, Account, { retry: { maxAttempts: 0 } })).toThrow(
      /retry.maxAttempts/,
    );
    expect((await commands.repository.load(id)).version).toBe(0);
  });

  it('50 concurrent deposits to one account all succeed through retries; the balance is exact', async () => {
    const commands = handler({ maxAttempts: 200, baseDelayMs: 1, maxDelayMs: 20 });
    const id = uniqueName('h');
    await commands.handle(id, { type: 'Open', owner: 'ada' });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => commands.handle(id, { type: 'Deposit', amount: i + 1 })),
    );
    expect(results.every((r) => r.events.length === 1 && !r.duplicate)).toBe(true);
    expect(new Set(results.map((r) => r.version)).size).toBe(50);
    const { state, version } = await commands.repository.load(id);
    expect(state.balance).toBe((50 * 51) / 2);
    expect(version).toBe(51);
    expect(await deposits(id)).toBe(50);
  });

  it('never writes or refuses on a stale cached state (two handlers, like two processes)', async () => {
    const id = uniqueName('cache');
    const [a, b] = [handler(), handler()];
    await a.handle(id, { type: 'Open', owner: 'ada' });
    await a.handle(id, { type: 'Deposit', amount: 5 }); // a caches balance 5 at version 2
    await b.handle(id, { type: 'Deposit', amount: 10 }); // a's cache is stale now
    // On a's cached state the withdrawal would be refused; decided again on the loaded state, it is not.
    const withdrawal = await a.handle(id, { type: 'Withdraw', amount: 12 });
    expect(withdrawal).toMatchObject({ version: 4, state: { balance: 3 } });
    await b.handle(id, { type: 'Deposit', amount: 1 }); // stale again: a's next append loses, reloads
    const deposit = await a.handle(id, { type: 'Deposit', amount: 1 });
    expect(deposit).toMatchObject({ version: 6, state: { balance: 5 } });
    // A refusal on the loaded state is still a refusal.
    await b.handle(id, { type: 'Withdraw', amount: 5 });
    expect(await rejectionOf(a.handle(id, { type: 'Withdraw', amount: 1 }))).toBeInstanceOf(
      InsufficientFunds,
    );
    expect((await a.repository.load(id)).state.balance).toBe(0);
    expect(() => new CommandHandler(fixture.log, Account, { cacheSize: -1 })).toThrow(/cacheSize/);
  });

  it('gives up with ConcurrencyConflictError when every attempt loses its race', async () => {
    const id = uniqueName('h');
    await handler().handle(id, { type: 'Open', owner: 'ada' });
    const impatient = handler({ maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, () => impatient.handle(id, { type: 'Deposit', amount: 1 })),
    );
    const lost = outcomes.filter((o) => o.status === 'rejected');
    expect(lost.length).toBeGreaterThan(0);
    for (const o of lost) expect(o.reason).toBeInstanceOf(ConcurrencyConflictError);
    expect(await deposits(id)).toBe(10 - lost.length);
  });
});

describe('exactly once by command id', () => {
  it('returns the original result for a repeated command id and appends nothing', async () => {
    const commands = handler();
    const id = uniqueName('once');
    await commands.handle(id, { type: 'Open', owner: 'ada' });
    const first = await commands.handle(id, { type: 'Deposit', amount: 5 }, { commandId: 'k' });
    await commands.handle(id, { type: 'Deposit', amount: 7 });
    const again = await commands.handle(id, { type: 'Deposit', amount: 5 }, { commandId: 'k' });
    expect(again.duplicate).toBe(true);
    expect(withoutFlag(again)).toEqual(withoutFlag(first));
    expect(await deposits(id)).toBe(2);
    // A duplicate whose decision would now be refused still returns the original result.
    const withdrawal = await commands.handle(id, { type: 'Withdraw', amount: 12 }, { commandId: 'w' });
    const repeat = await commands.handle(id, { type: 'Withdraw', amount: 12 }, { commandId: 'w' });
    expect(withoutFlag(repeat)).toEqual(withoutFlag(withdrawal));
    // The same id on another aggregate is another command.
    const other = uniqueName('once');
    await commands.handle(other, { type: 'Open', owner: 'bob' }, { commandId: 'k' });
    expect((await commands.repository.load(other)).version).toBe(1);
  });

  it('the same command id sent 10 times concurrently: one set of events, 10 identical results', async () => {
    const commands = handler();
    for (let round = 0; round < 5; round++) {
      const id = uniqueName('once');
      await commands.handle(id, { type: 'Open', owner: 'ada' });
      const results = await Promise.all(
        Array.from({ length: 10 }, () =>
          commands.handle(id, { type: 'Deposit', amount: 5 }, { commandId: `dep-${round}` }),
        ),
      );
      expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
      for (const r of results) expect(withoutFlag(r)).toEqual(withoutFlag(results[0]!));
      expect(results[0]!.state.balance).toBe(5);
      expect(await deposits(id)).toBe(1);
    }
  });

  it("a repeated 'new' command returns its original result instead of already-exists", async () => {
    const commands = handler();
    const id = uniqueName('once');
    const first = await commands.handle(
      id,
      { type: 'Open', owner: 'ada' },
      { expect: 'new', commandId: 'open' },
    );
    const again = await commands.handle(
      id,
      { type: 'Open', owner: 'ada' },
      { expect: 'new', commandId: 'open' },
    );
    expect(withoutFlag(again)).toEqual(withoutFlag(first));
  });
});
