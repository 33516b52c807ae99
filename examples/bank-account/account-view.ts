import type { CommandResult } from '../../src/index.js';
import type { AccountState } from './account.aggregate.js';
import type { AccountView } from './bank.commands.js';

/** The API's view of an account after a command. */
export function accountView(
  result: Pick<CommandResult<AccountState>, 'id' | 'state' | 'version'>,
): AccountView {
  return { id: result.id, owner: result.state.owner, balance: result.state.balance, version: result.version };
}
