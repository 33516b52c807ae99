import type { Provider } from '@nestjs/common';
import { AggregateRepository } from '../aggregates/aggregate-repository.js';
import type { AggregateDefinition } from '../aggregates/define-aggregate.js';
import type { AnyEvent } from '../aggregates/define-event.js';
import { CommandHandler, type CommandHandlerOptions } from '../commands/command-handler.js';
import { retryPolicy } from '../commands/retry-policy.js';
import { z } from 'zod';
import { InvalidArgumentError } from '../log/errors.js';
import { EventLog } from '../log/event-log.js';
import { getAggregateRepositoryToken, getCommandHandlerToken } from './fencepost.tokens.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type SomeAggregate = AggregateDefinition<any, any, any>;

/** An aggregate for `FencepostModule.forFeature`, bare or with its command handler's options. */
export type AggregateFeature = SomeAggregate | ({ aggregate: SomeAggregate } & CommandHandlerOptions);

/** The repository type of an aggregate definition: `RepositoryOf<typeof Account>`. */
export type RepositoryOf<A extends SomeAggregate> =
  A extends AggregateDefinition<infer S, infer E extends AnyEvent, infer C>
    ? AggregateRepository<S, E, C>
    : never;

/** The command handler type of an aggregate definition: `CommandsOf<typeof Account>`. */
export type CommandsOf<A extends SomeAggregate> =
  A extends AggregateDefinition<infer S, infer E extends AnyEvent, infer C> ? CommandHandler<S, E, C> : never;

/**
 * The providers `forFeature` registers: per aggregate, its repository and its command handler, both on the
 * module's {@link EventLog}.
 *
 * @throws InvalidArgumentError for something that is not an aggregate definition, two aggregates of one
 *   name, or a bad retry policy.
 */
export function aggregateFeatureProviders(features: readonly AggregateFeature[]): Provider[] {
  const seen = new Set<string>();
  return features.flatMap((feature, index) => {
    const { aggregate, ...options } = 'aggregate' in feature ? feature : { aggregate: feature };
    if (typeof aggregate?.name !== 'string' || typeof aggregate.decide !== 'function') {
      throw new InvalidArgumentError(
        `FencepostModule.forFeature: item ${index} is not an aggregate definition (made by defineAggregate)`,
      );
    }
    if (seen.has(aggregate.name)) {
      throw new InvalidArgumentError(
        `FencepostModule.forFeature: aggregate ${JSON.stringify(aggregate.name)} is listed twice`,
      );
    }
    seen.add(aggregate.name);
    checkHandlerOptions(aggregate.name, options);
    return [
      {
        provide: getAggregateRepositoryToken(aggregate),
        useFactory: (log: EventLog) => new AggregateRepository(log, aggregate),
        inject: [EventLog],
      },
      {
        provide: getCommandHandlerToken(aggregate),
        useFactory: (log: EventLog) => new CommandHandler(log, aggregate, options),
        inject: [EventLog],
      },
    ];
  });
}

/** What may sit next to an aggregate in `forFeature`: `CommandHandlerOptions`, nothing else (typos are caught). */
const handlerOptionsSchema = z
  .object({
    retry: z.record(z.string(), z.unknown()).optional(),
    cacheSize: z.number().int().min(0).optional(),
  })
  .strict();

/**
 * Checks a command handler's options now, before the application connects anything (a provider factory
 * that throws later leaves the pool it connected open).
 *
 * @throws InvalidArgumentError naming the aggregate, the option and the rule.
 */
function checkHandlerOptions(name: string, options: CommandHandlerOptions): void {
  const what = `FencepostModule.forFeature: aggregate ${name}`;
  const parsed = handlerOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidArgumentError(`${what}: ${issue.path.join('.') || 'options'}: ${issue.message}`);
  }
  try {
    retryPolicy(options.retry);
  } catch (error) {
    throw new InvalidArgumentError(`${what}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}
