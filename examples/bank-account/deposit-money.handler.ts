import {
  CommandHandler,
  type CommandsOf,
  type HandlesCommand,
  InjectCommandHandler,
} from '../../src/nest/index.js';
import { Account } from './account.aggregate.js';
import { accountView } from './account-view.js';
import { type AccountView, DepositMoney } from './bank.commands.js';
import { commandIdOf, refuseChangedRepeat } from './idempotency.js';

/** Deposits into an existing account (`expect: 'existing'`: an unknown id is a 404). */
@CommandHandler(DepositMoney)
export class DepositMoneyHandler implements HandlesCommand<DepositMoney> {
  constructor(@InjectCommandHandler(Account) private readonly accounts: CommandsOf<typeof Account>) {}

  async execute({ accountId, amount, idempotencyKey }: DepositMoney): Promise<AccountView> {
    const result = await this.accounts.handle(
      accountId,
      { type: 'Deposit', amount },
      { commandId: commandIdOf('deposit', idempotencyKey), expect: 'existing' },
    );
    const [deposited] = result.events;
    refuseChangedRepeat(
      result.duplicate,
      deposited?.type === 'Deposited' && deposited.data.amount === amount,
      idempotencyKey,
    );
    return accountView(result);
  }
}
