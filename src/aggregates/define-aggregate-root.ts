import { InvalidArgumentError } from '../log/errors.js';
import { AggregateRoot, applyStored, copyRoot, decideOnCopy } from './aggregate-root.js';
import { buildDefinition, type AggregateDefinition, type SnapshotOptions } from './define-aggregate.js';
import type { EventDefinition, EventOf } from './define-event.js';

/**
 * A command on a class-style aggregate: a function that calls its methods, run on a copy of the current
 * state. It must be synchronous and depend only on the aggregate and its own arguments: it runs again on
 * every retry.
 */
export type RootCommand<R> = (aggregate: R) => void;

/** What {@link defineAggregateRoot} takes besides the class. */
export interface AggregateRootSpec {
  /** The aggregate's name (1–64 characters, `[A-Za-z0-9_.-]`): streams are `<name>-<id>` by default. */
  name: string;
  /** The event types its streams hold. A record of any other type is a decode error on load. */
  events: readonly EventDefinition[];
  /** The stream of an aggregate id (default `` `${name}-${id}` ``). */
  streamName?: (id: string) => string;
  /**
   * Snapshots of the instance's own fields, as JSON. `schema` (optional) checks the stored fields and may
   * revive them (`z.coerce.date()`); they are then assigned to a new instance.
   */
  snapshots?: SnapshotOptions<unknown>;
}

/**
 * Defines an aggregate from an {@link AggregateRoot} class: the state is an instance (a new one before the
 * first event), events are applied by its `on<Type>` methods (or its `when`), and a command is a function
 * that calls its methods on a copy of the state. The definition goes wherever a decider's does
 * (`AggregateRepository`, `CommandHandler`, `FencepostModule.forFeature`, `DeciderSpec`).
 *
 * @throws InvalidArgumentError for a class that does not extend AggregateRoot or whose constructor takes
 *   arguments, and as defineAggregate does for the rest.
 * @example
 * const Accounts = defineAggregateRoot(Account, { name: 'account', events: [Deposited, Withdrawn] });
 * const commands = new CommandHandler(log, Accounts);
 * await commands.handle('42', (account) => account.deposit(5), { commandId });
 */
export function defineAggregateRoot<
  const Events extends readonly EventDefinition[],
  R extends AggregateRoot<EventOf<Events[number]>>,
>(
  root: new () => R,
  spec: AggregateRootSpec & { events: Events },
): AggregateDefinition<R, EventOf<Events[number]>, RootCommand<R>> {
  type E = EventOf<Events[number]>;
  if (typeof root !== 'function' || !(root.prototype instanceof AggregateRoot)) {
    throw new InvalidArgumentError(
      `aggregate ${String(spec?.name)}: defineAggregateRoot takes a class that extends AggregateRoot; got ${describe(root)}`,
    );
  }
  if (root.length > 0) {
    throw new InvalidArgumentError(
      `aggregate ${spec.name}: ${root.name}'s constructor must take no arguments (it makes the state before the first event); it takes ${root.length}`,
    );
  }
  return buildDefinition<R, E, RootCommand<R>>(
    {
      ...spec,
      initialState: () => new root(),
      evolve: (state, event) => applyStored(copyRoot(state), event),
      decide: (command, state) => {
        if (typeof command !== 'function') {
          throw new InvalidArgumentError(
            `a command on aggregate ${spec.name} is a function of the ${root.name} (e.g. (aggregate) => aggregate.method(...)); got ${describe(command)}`,
          );
        }
        return decideOnCopy<R, E>(state, command);
      },
    },
    {
      evolveOwned: applyStored,
      fromSnapshot: (data) => Object.assign(new root(), data as object),
    },
  );
}

function describe(value: unknown): string {
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  return JSON.stringify(value) ?? String(value);
}
