/** A class-style aggregate (AggregateRoot), as a @nestjs/cqrs user writes one, for the tests. */
import { z } from 'zod';
import {
  AggregateRoot,
  defineAggregateRoot,
  defineEvent,
  DomainError,
  type EventOf,
} from '../../src/index.js';

export const Opened = defineEvent({ type: 'Opened', schema: z.object({ owner: z.string().min(1) }) });
export const Deposited = defineEvent({
  type: 'Deposited',
  schema: z.object({ amount: z.number().int().positive() }),
});
export const Withdrawn = defineEvent({
  type: 'Withdrawn',
  schema: z.object({ amount: z.number().int().positive() }),
});
export type AccountEvent = EventOf<typeof Opened> | EventOf<typeof Deposited> | EventOf<typeof Withdrawn>;

export class NotOpen extends DomainError {
  constructor() {
    super('not_open', 'the account is not open');
  }
}

export class Overdrawn extends DomainError {
  constructor(readonly balance: number) {
    super('overdrawn', `the balance is ${balance}`);
  }
}

/** As a @nestjs/cqrs user writes one: rules in methods, fields changed by on<Type> handlers. */
export class Account extends AggregateRoot<AccountEvent> {
  owner = '';
  balance = 0;
  /** Changed in place by the handlers: a copy that shared it would leak a refused command's changes. */
  history: string[] = [];

  open(owner: string): void {
    if (this.owner) throw new DomainError('already_open', `the account is open (owner ${this.owner})`);
    this.apply({ type: 'Opened', data: { owner } });
  }

  deposit(amount: number): void {
    this.mustBeOpen();
    this.apply({ type: 'Deposited', data: { amount } });
  }

  /** Applies first, then checks the rule against the changed balance: a refusal must leave no trace. */
  withdraw(amount: number): void {
    this.mustBeOpen();
    this.apply({ type: 'Withdrawn', data: { amount } });
    if (this.balance < 0) throw new Overdrawn(this.balance + amount);
  }

  private mustBeOpen(): void {
    if (!this.owner) throw new NotOpen();
  }

  protected onOpened({ owner }: { owner: string }): void {
    this.owner = owner;
    this.history.push('opened');
  }

  protected onDeposited({ amount }: { amount: number }): void {
    this.balance += amount;
    this.history.push(`+${amount}`);
  }

  protected onWithdrawn({ amount }: { amount: number }): void {
    this.balance -= amount;
    this.history.push(`-${amount}`);
  }
}

export const Accounts = defineAggregateRoot(Account, {
  name: 'root-account',
  events: [Opened, Deposited, Withdrawn],
});
