import { AggregateRepository } from '../aggregates/aggregate-repository.js';
import type { AggregateDefinition } from '../aggregates/define-aggregate.js';
import type { AnyEvent } from '../aggregates/define-event.js';
import type { EventLog } from '../log/event-log.js';
import type { CommandOf, EventOfAggregate, StateOf } from '../aggregates/define-aggregate.js';
import type { CommandItem, CommandOptions, Expectation, HandleOptions } from './command-options.js';
import type { CommandResult, MultiCommandResult } from './command-result.js';
import { retryPolicy, type RetryPolicy } from './retry-policy.js';
import { runCommands, type Repository } from './run-commands.js';
import { StateCache } from './state-cache.js';
import { InvalidArgumentError } from '../log/errors.js';

/** Options of a {@link CommandHandler}. */
export interface CommandHandlerOptions {
  /** How lost races are retried (default: 10 attempts, 2 ms doubling up to 100 ms, full jitter). */
  retry?: Partial<RetryPolicy>;
  /**
   * How many aggregates' last states the handler keeps, so that the next command on one of them skips its
   * load (default 1000; 0 turns it off). A stale state costs a retry, never a wrong write or refusal: the
   * append is conditional on the cached version, and a command refused on a cached state is decided again
   * on a loaded one. States are shared with the results, so treat them as immutable.
   */
  cacheSize?: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type SomeAggregate = AggregateDefinition<any, any, any>;

/** A `handleMany` item for aggregate definition `A`, its command typed by `A`. */
export interface ItemFor<A extends SomeAggregate> {
  aggregate: A;
  id: string;
  command: CommandOf<A>;
  expect?: Expectation;
}

/** The results of `handleMany`, typed per item. */
export type ResultsOf<A extends readonly SomeAggregate[]> = {
  -readonly [K in keyof A]: CommandResult<StateOf<A[K]>, EventOfAggregate<A[K]>>;
};

/**
 * Handles commands on one aggregate type, exactly once per command id: load → decide → conditional append,
 * retrying lost races with a bounded, jittered policy; domain errors from `decide` are thrown as they are.
 *
 * @example
 * const commands = new CommandHandler(log, Account, { retry: { maxAttempts: 10 } });
 * const result = await commands.handle('42', { type: 'Deposit', amount: 500 }, { commandId: 'idem-123' });
 * result.state.balance; result.events[0]!.type; result.duplicate; // false the first time, true after
 */
export class CommandHandler<State, E extends AnyEvent, Command> {
  readonly #log: EventLog;
  readonly #policy: RetryPolicy;
  readonly #cache: StateCache;
  readonly #repositories = new Map<object, Repository>();
  /** The repository of this handler's aggregate. */
  readonly repository: AggregateRepository<State, E, Command>;

  /** @throws InvalidArgumentError for a bad retry policy. */
  constructor(
    log: EventLog,
    aggregate: AggregateDefinition<State, E, Command>,
    options: CommandHandlerOptions = {},
  ) {
    this.#log = log;
    this.#policy = retryPolicy(options.retry);
    const cacheSize = options.cacheSize ?? 1000;
    if (!Number.isSafeInteger(cacheSize) || cacheSize < 0) {
      throw new InvalidArgumentError(`cacheSize must be a non-negative integer; got ${String(cacheSize)}`);
    }
    this.#cache = new StateCache(cacheSize);
    this.repository = new AggregateRepository(log, aggregate);
    this.#repositories.set(aggregate, this.repository as never);
  }

  /**
   * Handles one command on aggregate `id`.
   *
   * @throws DomainError subclasses from `decide` (never retried), AggregateNotFoundError (`expect:
   *   'existing'`), AggregateAlreadyExistsError (`expect: 'new'`), ConcurrencyConflictError (every attempt
   *   lost its race), InvalidArgumentError (bad options or events; nothing written), EventDecodeError,
   *   StorageError, IndefiniteAppendError (a lost connection left the outcome unknown and reading it back
   *   failed too: retry with the same `commandId`).
   */
  async handle(id: string, command: Command, options: HandleOptions = {}): Promise<CommandResult<State, E>> {
    const { expect, ...rest } = options;
    const item: CommandItem<State, E, Command> = {
      aggregate: this.repository.aggregate,
      id,
      command,
      expect,
    };
    const { results } = await this.#run([item as unknown as CommandItem], rest);
    return results[0] as CommandResult<State, E>;
  }

  /**
   * Handles a command over several aggregates (of any types) as one: every aggregate's events are appended
   * atomically (all or none), each stream conditional on the version loaded, exactly once per command id.
   *
   * @throws as {@link handle}.
   * @example
   * const { results } = await commands.handleMany(
   *   [
   *     { aggregate: Account, id: 'a', command: { type: 'Withdraw', amount: 100 }, expect: 'existing' },
   *     { aggregate: Account, id: 'b', command: { type: 'Deposit', amount: 100 }, expect: 'existing' },
   *   ],
   *   { commandId: 'transfer-9' },
   * );
   */
  async handleMany<const A extends readonly SomeAggregate[]>(
    items: { [K in keyof A]: ItemFor<A[K]> },
    options: CommandOptions = {},
  ): Promise<MultiCommandResult<ResultsOf<A>>> {
    const outcome = await this.#run(items as unknown as CommandItem[], options);
    return outcome as unknown as MultiCommandResult<ResultsOf<A>>;
  }

  #run(items: readonly CommandItem[], options: CommandOptions): ReturnType<typeof runCommands> {
    return runCommands(this.#log, items, options, this.#policy, (a) => this.#repositoryOf(a), this.#cache);
  }

  #repositoryOf(aggregate: CommandItem['aggregate']): Repository {
    let repository = this.#repositories.get(aggregate);
    if (!repository) {
      repository = new AggregateRepository(this.#log, aggregate);
      this.#repositories.set(aggregate, repository);
    }
    return repository;
  }
}
