import { randomUUID } from 'node:crypto';
import {
  CommandHandler,
  type CommandsOf,
  type HandlesCommand,
  InjectCommandHandler,
} from '../../src/nest/index.js';
import { Account } from './account.aggregate.js';
import { accountView } from './account-view.js';
import { refuseChangedRepeat } from './idempotency.js';
import { TransferMoney, type TransferView } from './bank.commands.js';

/**
 * Moves money between two accounts as one command over two aggregates (`handleMany`): the withdrawal from
 * `from` and the deposit into `to` are appended in one transaction, each conditional on the version its
 * decision was made on, so the transfer is all or nothing and never decided on a stale balance. The command
 * id (from the `Idempotency-Key`) is recorded on both streams in that transaction: a repeated request, even
 * one racing the first, appends nothing and gets the first one's result (`duplicate: true`).
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
      ],
      { commandId: `transfer:${transferId}` },
    );
    const [debited, credited] = results;
    const [withdrawn] = debited.events;
    const same =
      withdrawn?.type === 'Withdrawn' && withdrawn.data.amount === amount && withdrawn.data.to === to;
    refuseChangedRepeat(duplicate, same, idempotencyKey);
    return { transferId, amount, from: accountView(debited), to: accountView(credited), duplicate };
  }
}
