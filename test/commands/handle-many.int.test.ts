import { describe, expect, it } from 'vitest';
import { CommandHandler, defineAggregate, defineEvent } from '../../src/index.js';
import { z } from 'zod';
import { Account, InsufficientFunds } from '../support/account.js';
import { rejectionOf } from '../support/assertions.js';
import { uniqueName, useEventLog } from '../support/event-log.js';

const fixture = useEventLog({ max: 20 });

const commands = () =>
  new CommandHandler(fixture.log, Account, { retry: { maxAttempts: 200, baseDelayMs: 1, maxDelayMs: 20 } });

async function openWith(balance: number): Promise<string> {
  const id = uniqueName('tr');
  await commands().handle(id, { type: 'Open', owner: id });
  if (balance > 0) await commands().handle(id, { type: 'Deposit', amount: balance });
  return id;
}

function transfer(from: string, to: string, amount: number, commandId?: string) {
  return commands().handleMany(
    [
      { aggregate: Account, id: from, command: { type: 'Withdraw', amount }, expect: 'existing' },
      { aggregate: Account, id: to, command: { type: 'Deposit', amount }, expect: 'existing' },
    ],
    commandId === undefined ? {} : { commandId },
  );
}

describe('CommandHandler.handleMany', () => {
  it('appends the events of every aggregate atomically and returns each result', async () => {
    const a = await openWith(100);
    const b = await openWith(0);
    const { results, duplicate } = await transfer(a, b, 30, 't-1');
    expect(duplicate).toBe(false);
    expect(results[0]).toMatchObject({ id: a, state: { balance: 70 }, version: 3 });
    expect(results[1]).toMatchObject({ id: b, state: { balance: 30 }, version: 2 });
    expect(results[0].events[0]!.commandId).toBe('t-1');
    const again = await transfer(a, b, 30, 't-1');
    expect(again.duplicate).toBe(true);
    expect(again.results.map((r) => ({ ...r, duplicate: false }))).toEqual(results);
    expect((await commands().repository.load(a)).state.balance).toBe(70);
  });

  it('writes nothing anywhere when one aggregate refuses, or is missing', async () => {
    const a = await openWith(10);
    const b = await openWith(0);
    expect(await rejectionOf(transfer(a, b, 30))).toBeInstanceOf(InsufficientFunds);
    expect(await rejectionOf(transfer(a, uniqueName('missing'), 5))).toMatchObject({
      code: 'aggregate_not_found',
    });
    expect((await commands().repository.load(a)).version).toBe(2);
    expect((await commands().repository.load(b)).version).toBe(1);
  });

  it('works across aggregate types', async () => {
    const Noted = defineEvent({ type: 'Noted', schema: z.object({ text: z.string() }) });
    const Ledger = defineAggregate({
      name: 'ledger',
      events: [Noted],
      initialState: () => [] as string[],
      evolve: (state, event) => [...state, event.data.text],
      decide: (command: { note: string }) => [{ type: 'Noted' as const, data: { text: command.note } }],
    });
    const a = await openWith(0);
    const { results } = await commands().handleMany([
      { aggregate: Account, id: a, command: { type: 'Deposit', amount: 3 } },
      { aggregate: Ledger, id: a, command: { note: 'deposit 3' } },
    ]);
    expect(results[0].state.balance).toBe(3);
    expect(results[1].state).toEqual(['deposit 3']);
  });

  it('two opposite transfers racing for many rounds never deadlock and keep the total balance', async () => {
    const a = await openWith(1000);
    const b = await openWith(1000);
    const rounds = 100;
    const outcomes = [];
    for (let r = 0; r < rounds; r++) {
      outcomes.push(await Promise.all([transfer(a, b, 1 + (r % 7)), transfer(b, a, 1 + (r % 5))]));
    }
    expect(outcomes.flat()).toHaveLength(2 * rounds);
    const [sa, sb] = await Promise.all([commands().repository.load(a), commands().repository.load(b)]);
    expect(sa.state.balance + sb.state.balance).toBe(2000);
    expect(sa.version).toBe(2 + 2 * rounds);
    expect(sb.version).toBe(2 + 2 * rounds);
    let expectedA = 1000;
    for (let r = 0; r < rounds; r++) expectedA += -(1 + (r % 7)) + (1 + (r % 5));
    expect(sa.state.balance).toBe(expectedA);
  });
});
