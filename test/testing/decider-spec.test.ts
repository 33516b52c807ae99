import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAggregate, defineEvent, type EventOf } from '../../src/index.js';
import { DeciderSpec } from '../../src/testing/index.js';
import { Account, AccountNotOpen, InsufficientFunds } from '../support/account.js';

const opened = { type: 'AccountOpened', data: { owner: 'ada' } } as const;

describe('DeciderSpec', () => {
  it('passes when decide returns the expected events', () => {
    DeciderSpec.for(Account)
      .given([opened])
      .when({ type: 'Deposit', amount: 5 })
      .then([{ type: 'Deposited', data: { amount: 5, currency: 'EUR' } }])
      .thenState({ opened: true, owner: 'ada', balance: 5 });
  });

  it('fails when the events differ', () => {
    expect(() =>
      DeciderSpec.for(Account)
        .given([opened])
        .when({ type: 'Deposit', amount: 5 })
        .then([{ type: 'Deposited', data: { amount: 6, currency: 'EUR' } }]),
    ).toThrow(/Expected values to be strictly deep-equal/);
  });

  it('checks the thrown domain error and its data', () => {
    DeciderSpec.for(Account)
      .given([opened, { type: 'Deposited', data: { amount: 3, currency: 'EUR' } }])
      .when({ type: 'Withdraw', amount: 5 })
      .thenThrows(InsufficientFunds, (error) => expect(error.balance).toBe(3));
    DeciderSpec.for(Account).when({ type: 'Deposit', amount: 1 }).thenThrows(AccountNotOpen);
  });

  it('fails thenThrows when decide returned events, and then when it threw', () => {
    expect(() =>
      DeciderSpec.for(Account)
        .given([opened])
        .when({ type: 'Deposit', amount: 1 })
        .thenThrows(InsufficientFunds),
    ).toThrow(/expected decide to throw InsufficientFunds, but it returned/);
    expect(() => DeciderSpec.for(Account).when({ type: 'Deposit', amount: 1 }).then([])).toThrow(
      /expected decide to return events, but it threw AccountNotOpen/,
    );
  });

  it('compares events as stored: an optional field left undefined equals one left out', () => {
    const Noted = defineEvent({
      type: 'Noted',
      schema: z.object({ text: z.string(), by: z.string().optional() }),
    });
    const Notes = defineAggregate({
      name: 'notes',
      events: [Noted],
      initialState: () => ({}),
      evolve: (state: object) => state,
      decide: (command: { text: string; by?: string }): EventOf<typeof Noted>[] => [
        { type: 'Noted', data: { text: command.text, by: command.by } },
      ],
    });
    DeciderSpec.for(Notes)
      .when({ text: 'hi' })
      .then([{ type: 'Noted', data: { text: 'hi' } }]);
  });

  it('refuses events their schema rejects, as the handler would', () => {
    expect(() =>
      DeciderSpec.for(Account).given([opened]).when({ type: 'Deposit', amount: -1 }).then([]),
    ).toThrow(/data\.amount/);
  });
});
