import { Inject } from '@nestjs/common';
import type { AggregateDefinition } from '../aggregates/define-aggregate.js';
import { getAggregateRepositoryToken } from './fencepost.tokens.js';

/**
 * Injects the {@link AggregateRepository} of an aggregate registered with `FencepostModule.forFeature`. Type
 * the parameter with {@link RepositoryOf}.
 *
 * @example
 * constructor(@InjectAggregateRepository(Account) private readonly accounts: RepositoryOf<typeof Account>) {}
 */
export function InjectAggregateRepository(aggregate: Pick<AggregateDefinition, 'name'>): ParameterDecorator {
  return Inject(getAggregateRepositoryToken(aggregate));
}
