import { Inject } from '@nestjs/common';
import type { AggregateDefinition } from '../aggregates/define-aggregate.js';
import { getCommandHandlerToken } from './fencepost.tokens.js';

/**
 * Injects the {@link CommandHandler} of an aggregate registered with `FencepostModule.forFeature`. Type the
 * parameter with {@link CommandsOf}.
 *
 * @example
 * constructor(@InjectCommandHandler(Account) private readonly accounts: CommandsOf<typeof Account>) {}
 * // ...
 * await this.accounts.handle(id, { type: 'Deposit', amount }, { commandId });
 */
export function InjectCommandHandler(aggregate: Pick<AggregateDefinition, 'name'>): ParameterDecorator {
  return Inject(getCommandHandlerToken(aggregate));
}
