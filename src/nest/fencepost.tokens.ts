import type { AggregateDefinition } from '../aggregates/define-aggregate.js';

/** The part of an aggregate definition its tokens are made of. */
type Named = Pick<AggregateDefinition, 'name'>;

/**
 * The injection token of the {@link AggregateRepository} that `FencepostModule.forFeature` registers for an
 * aggregate: `fencepost:repository:<name>`. Use it with `@Inject(...)`, in `overrideProvider(...)`, or
 * `module.get(...)`.
 *
 * @example
 * const accounts = app.get<AggregateRepository<AccountState, AccountEvent, AccountCommand>>(
 *   getAggregateRepositoryToken(Account),
 * );
 */
export function getAggregateRepositoryToken(aggregate: Named): string {
  return `fencepost:repository:${aggregate.name}`;
}

/**
 * The injection token of the {@link CommandHandler} that `FencepostModule.forFeature` registers for an
 * aggregate: `fencepost:command-handler:<name>`.
 *
 * @example
 * const commands = app.get(getCommandHandlerToken(Account));
 */
export function getCommandHandlerToken(aggregate: Named): string {
  return `fencepost:command-handler:${aggregate.name}`;
}
