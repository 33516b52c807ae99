/**
 * The bank account as a decider: its state, how events change it (`evolve`) and which events a command
 * produces (`decide`). No I/O here; fencepost loads the state, calls `decide` and appends its events with
 * `matchSeqNum`, retrying when another writer got there first.
 */
import { defineAggregate } from '../../src/index.js';
import { AccountOpened, Deposited, Withdrawn, type AccountEvent } from './account.events.js';
import {
  AccountAlreadyOpen,
  AccountNotOpen,
  BalanceLimitExceeded,
  InsufficientFunds,
} from './account.errors.js';

export interface AccountState {
  opened: boolean;
  owner: string;
  balance: number;
}

export type AccountCommand =
  | { type: 'Open'; owner: string }
  | { type: 'Deposit'; amount: number; from?: string }
  | { type: 'Withdraw'; amount: number; to?: string };

export const Account = defineAggregate({
  name: 'account',
  events: [AccountOpened, Deposited, Withdrawn],
  initialState: (): AccountState => ({ opened: false, owner: '', balance: 0 }),
  evolve: (state: AccountState, event: AccountEvent): AccountState => {
    switch (event.type) {
      case 'AccountOpened':
        return { opened: true, owner: event.data.owner, balance: 0 };
      case 'Deposited':
        return { ...state, balance: state.balance + event.data.amount };
      case 'Withdrawn':
        return { ...state, balance: state.balance - event.data.amount };
    }
  },
  decide: (command: AccountCommand, state: AccountState): AccountEvent[] => {
    if (command.type === 'Open' && state.opened) throw new AccountAlreadyOpen();
    if (command.type !== 'Open' && !state.opened) throw new AccountNotOpen();
    switch (command.type) {
      case 'Open':
        return [{ type: 'AccountOpened', data: { owner: command.owner } }];
      case 'Deposit':
        if (state.balance + command.amount > Number.MAX_SAFE_INTEGER) {
          throw new BalanceLimitExceeded(state.balance, command.amount);
        }
        return [{ type: 'Deposited', data: { amount: command.amount, from: command.from } }];
      case 'Withdraw':
        if (command.amount > state.balance) throw new InsufficientFunds(state.balance, command.amount);
        return [{ type: 'Withdrawn', data: { amount: command.amount, to: command.to } }];
    }
  },
});
