/** A bank account aggregate for the aggregate and command tests. */
import { z } from 'zod';
import { defineAggregate, defineEvent, DomainError, type EventOf } from '../../src/index.js';

export const AccountOpened = defineEvent({
  type: 'AccountOpened',
  version: 1,
  schema: z.object({ owner: z.string().min(1) }),
});
export const Deposited = defineEvent({
  type: 'Deposited',
  version: 2,
  schema: z.object({ amount: z.number().int().positive(), currency: z.string() }),
  upcast: { 1: (v1: { amount: number }) => ({ ...v1, currency: 'EUR' }) },
});
export const Withdrawn = defineEvent({
  type: 'Withdrawn',
  version: 1,
  schema: z.object({ amount: z.number().int().positive() }),
});

export type AccountEvent =
  EventOf<typeof AccountOpened> | EventOf<typeof Deposited> | EventOf<typeof Withdrawn>;
export type AccountCommand =
  | { type: 'Open'; owner: string }
  | { type: 'Deposit'; amount: number }
  | { type: 'Withdraw'; amount: number };
export interface AccountState {
  opened: boolean;
  owner: string;
  balance: number;
}

/** The account's state with a `since` date, as a snapshot schema reads it back (the date revived). */
export const DatedAccountState = z.object({
  opened: z.boolean(),
  owner: z.string(),
  balance: z.number(),
  since: z.coerce.date(),
});

export class InsufficientFunds extends DomainError {
  constructor(
    readonly balance: number,
    readonly amount: number,
  ) {
    super('insufficient_funds', `cannot withdraw ${amount}: the balance is ${balance}`);
  }
}

export class AccountNotOpen extends DomainError {
  constructor() {
    super('account_not_open', 'the account is not open');
  }
}

export const accountSpec = {
  name: 'account',
  events: [AccountOpened, Deposited, Withdrawn],
  initialState: (): AccountState => ({ opened: false, owner: '', balance: 0 }),
  evolve: (state: AccountState, event: AccountEvent): AccountState => {
    switch (event.type) {
      case 'AccountOpened':
        return { ...state, opened: true, owner: event.data.owner };
      case 'Deposited':
        return { ...state, balance: state.balance + event.data.amount };
      case 'Withdrawn':
        return { ...state, balance: state.balance - event.data.amount };
    }
  },
  decide: (command: AccountCommand, state: AccountState): AccountEvent[] => {
    if (command.type === 'Open') return [{ type: 'AccountOpened', data: { owner: command.owner } }];
    if (!state.opened) throw new AccountNotOpen();
    switch (command.type) {
      case 'Deposit':
        return [{ type: 'Deposited', data: { amount: command.amount, currency: 'EUR' } }];
      case 'Withdraw':
        if (state.balance < command.amount) throw new InsufficientFunds(state.balance, command.amount);
        return [{ type: 'Withdrawn', data: { amount: command.amount } }];
    }
  },
} as const;

export const Account = defineAggregate(accountSpec);
