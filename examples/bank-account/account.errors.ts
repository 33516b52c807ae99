/** The business rules an account command can break: domain errors, answered with 409 and their data. */
import { DomainError } from '../../src/index.js';

/** A withdrawal (or the sending side of a transfer) larger than the balance: nothing is appended. */
export class InsufficientFunds extends DomainError {
  constructor(
    readonly balance: number,
    readonly amount: number,
  ) {
    super('insufficient_funds', `cannot withdraw ${amount} cents: the balance is ${balance} cents`);
  }
}

/** A deposit that would take the balance past what a JavaScript number holds exactly. */
export class BalanceLimitExceeded extends DomainError {
  constructor(
    readonly balance: number,
    readonly amount: number,
  ) {
    super(
      'balance_limit_exceeded',
      `cannot deposit ${amount} cents: the balance ${balance} would pass 2^53 - 1`,
    );
  }
}

/** A deposit or withdrawal on an account that was never opened. */
export class AccountNotOpen extends DomainError {
  constructor() {
    super('account_not_open', 'the account is not open');
  }
}

/** An open of an account that is open already. */
export class AccountAlreadyOpen extends DomainError {
  constructor() {
    super('account_already_open', 'the account is open already');
  }
}
