import {
  CommandHandler,
  type CommandsOf,
  type HandlesCommand,
  InjectCommandHandler,
} from '../../src/nest/index.js';
import { Account } from './account.aggregate.js';
import { accountView } from './account-view.js';
import { type AccountView, OpenAccount } from './bank.commands.js';
import { accountIdOf, commandIdOf, refuseChangedRepeat } from './idempotency.js';

/** Opens an account in a new stream (`expect: 'new'`); a repeated request returns the account it opened. */
@CommandHandler(OpenAccount)
export class OpenAccountHandler implements HandlesCommand<OpenAccount> {
  constructor(@InjectCommandHandler(Account) private readonly accounts: CommandsOf<typeof Account>) {}

  async execute({ owner, idempotencyKey }: OpenAccount): Promise<AccountView> {
    const id = accountIdOf(idempotencyKey);
    const result = await this.accounts.handle(
      id,
      { type: 'Open', owner },
      { commandId: commandIdOf('open', idempotencyKey), expect: 'new' },
    );
    const [opened] = result.events;
    refuseChangedRepeat(
      result.duplicate,
      opened?.type === 'AccountOpened' && opened.data.owner === owner,
      idempotencyKey,
    );
    return accountView(result);
  }
}
