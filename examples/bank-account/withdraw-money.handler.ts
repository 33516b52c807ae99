import {
  CommandHandler,
  type CommandsOf,
  type HandlesCommand,
  InjectCommandHandler,
} from '../../src/nest/index.js';
import { Account } from './account.aggregate.js';
import { accountView } from './account-view.js';
import { type AccountView, WithdrawMoney } from './bank.commands.js';
import { commandIdOf, refuseChangedRepeat } from './idempotency.js';

/**
 * Withdraws from an existing account. The decider refuses an overdraft with `InsufficientFunds` (a 409 with
 * the balance); the refusal appends nothing. Two withdrawals racing for the same balance cannot both pass:
 * the second append's `matchSeqNum` fails, the handler reloads and decides again on the new balance.
 */
@CommandHandler(WithdrawMoney)
export class WithdrawMoneyHandler implements HandlesCommand<WithdrawMoney> {
  constructor(@InjectCommandHandler(Account) private readonly accounts: CommandsOf<typeof Account>) {}

  async execute({ accountId, amount, idempotencyKey }: WithdrawMoney): Promise<AccountView> {
    const result = await this.accounts.handle(
      accountId,
      { type: 'Withdraw', amount },
      { commandId: commandIdOf('withdraw', idempotencyKey), expect: 'existing' },
    );
    const [withdrawn] = result.events;
    refuseChangedRepeat(
      result.duplicate,
      withdrawn?.type === 'Withdrawn' && withdrawn.data.amount === amount,
      idempotencyKey,
    );
    return accountView(result);
  }
}
