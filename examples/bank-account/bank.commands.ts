/**
 * The commands the HTTP layer sends through the CommandBus, one class each; `Command<R>` types what the
 * bus returns. `idempotencyKey` is the request's `Idempotency-Key` header, when it has one.
 */
import { Command } from '../../src/nest/index.js';

/** An account as the API shows it. */
export interface AccountView {
  id: string;
  owner: string;
  balance: number;
  /** The account stream's next seqNum: how many events it holds. */
  version: number;
}

export class OpenAccount extends Command<AccountView> {
  constructor(
    readonly owner: string,
    readonly idempotencyKey: string | undefined,
  ) {
    super();
  }
}

export class DepositMoney extends Command<AccountView> {
  constructor(
    readonly accountId: string,
    readonly amount: number,
    readonly idempotencyKey: string | undefined,
  ) {
    super();
  }
}

export class WithdrawMoney extends Command<AccountView> {
  constructor(
    readonly accountId: string,
    readonly amount: number,
    readonly idempotencyKey: string | undefined,
  ) {
    super();
  }
}

/** What a transfer returns: both accounts after it, and whether this request repeated an earlier one. */
export interface TransferView {
  transferId: string;
  amount: number;
  from: AccountView;
  to: AccountView;
  duplicate: boolean;
}

export class TransferMoney extends Command<TransferView> {
  constructor(
    readonly from: string,
    readonly to: string,
    readonly amount: number,
    readonly idempotencyKey: string | undefined,
  ) {
    super();
  }
}
