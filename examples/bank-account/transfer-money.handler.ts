import { randomUUID } from 'node:crypto';
import {
  CommandHandler,
  type CommandsOf,
  type HandlesCommand,
  InjectCommandHandler,
} from '../../src/nest/index.js';
import { Account } from './account.aggregate.js';
import { Transfer, type RecordTransfer } from './transfer.aggregate.js';
import { accountView } from './account-view.js';
import { refuseChangedRepeat } from './idempotency.js';
import { TransferMoney, type TransferView } from './bank.commands.js';

/**
 * Moves money between two accounts as one command over three aggregates (`handleMany`): the withdrawal from
 * `from`, the deposit into `to` and the transfer's own record (see transfer.aggregate.ts) are appended in one
 * transaction, each account's conditional on the version its decision was made on, so the transfer is all or
 * nothing and never decided on a stale balance. The command id (from the `Idempotency-Key`) is recorded on all
 * three streams in that transaction: a repeated request, even one racing the first, appends nothing and gets
 * the first one's result (`duplicate: true`); the key used for other accounts or another amount finds the
 * transfer's record and is refused (422).
 */
@CommandHandler(TransferMoney)
export class TransferMoneyHandler implements HandlesCommand<TransferMoney> {
  constructor(@InjectCommandHandler(Account) private readonly accounts: CommandsOf<typeof Account>) {}

  async execute({ from, to, amount, idempotencyKey }: TransferMoney): Promise<TransferView> {
    const transferId = idempotencyKey ?? randomUUID();
    const { results, duplicate } = await this.accounts.handleMany(
      [
        { aggregate: Account, id: from, command: { type: 'Withdraw', amount, to }, expect: 'existing' },
        { aggregate: Account, id: to, command: { type: 'Deposit', amount, from }, expect: 'existing' },
        { aggregate: Transfer, id: transferId, command: { from, to, amount }, expect: 'new' },
      ],
      { commandId: `transfer:${transferId}` },
    );
    const [debited, credited, transfer] = results;
    const recorded = (transfer.state as { recorded?: RecordTransfer }).recorded;
    const same = recorded?.from === from && recorded.to === to && recorded.amount === amount;
    refuseChangedRepeat(duplicate, same, idempotencyKey);
    return { transferId, amount, from: accountView(debited), to: accountView(credited), duplicate };
  }
}
