import { FencepostError, InvalidArgumentError } from '../log/errors.js';
import type { AnyEvent } from './define-event.js';

/** The events applied to each draft so far: a command's copy of a state is the only instance `apply` changes. */
const drafts = new WeakMap<object, AnyEvent[]>();

/**
 * The base of a class-style aggregate, for those who know `@nestjs/cqrs`'s `AggregateRoot`: command methods
 * check the rules against the fields and `apply` events; `on<Type>` methods (or an overridden
 * {@link AggregateRoot.when}) change the fields for an event. {@link defineAggregateRoot} turns such a class
 * into an aggregate definition that the repository, the command handler and the Nest module take as they take
 * a decider's: a command is a function that calls the instance's methods, and it runs on a copy of the state,
 * so a refused or retried command leaves no trace.
 *
 * Fields hold data that `structuredClone` copies (numbers, strings, booleans, arrays, plain objects, `Date`,
 * `Map`, `Set`), and JSON when the aggregate takes snapshots. Use TypeScript's `private`, not `#` fields,
 * which no copy can reach. The constructor takes no arguments: it makes the state before the first event.
 *
 * @example
 * class Account extends AggregateRoot<AccountEvent> {
 *   balance = 0;
 *   deposit(amount: number) {
 *     this.apply({ type: 'Deposited', data: { amount } });
 *   }
 *   withdraw(amount: number) {
 *     if (amount > this.balance) throw new InsufficientFunds(this.balance);
 *     this.apply({ type: 'Withdrawn', data: { amount } });
 *   }
 *   onDeposited({ amount }: { amount: number }) { this.balance += amount; }
 *   onWithdrawn({ amount }: { amount: number }) { this.balance -= amount; }
 * }
 */
export abstract class AggregateRoot<E extends AnyEvent = AnyEvent> {
  /**
   * Records `event` as an outcome of the command being decided and applies it to this instance at once, so
   * that the rest of the command sees its effect (as `@nestjs/cqrs`'s `apply` does).
   *
   * @throws FencepostError `not_a_command` outside a command: a loaded or returned state is shared (cached by
   *   the command handler, say) and must not change; change an aggregate by a command.
   */
  protected apply(event: E): void {
    const applied = drafts.get(this);
    if (!applied) {
      throw new FencepostError(
        'not_a_command',
        `${this.constructor.name}: apply(${JSON.stringify(event?.type)}) outside a command; a loaded state is shared and` +
          ` never changes: run the method in a command, e.g. commands.handle(id, (aggregate) => aggregate.method(...))`,
      );
    }
    this.when(event);
    applied.push(event);
  }

  /**
   * Changes the fields for one event: on every stored event when the aggregate is loaded, and on each
   * applied one. By default calls the method `on<Type>` (`onDeposited` for type `Deposited`) with the event's
   * data and the event; override it to dispatch otherwise (a `switch` over `event.type`, say).
   *
   * @throws FencepostError `no_event_handler` when there is no such method.
   */
  protected when(event: E): void {
    const handler = (this as unknown as Record<string, unknown>)[`on${event.type}`];
    if (typeof handler !== 'function') {
      throw new FencepostError(
        'no_event_handler',
        `${this.constructor.name} has no method on${event.type} for event ${JSON.stringify(event.type)}` +
          ` (or override when(event) to apply it)`,
      );
    }
    (handler as (data: unknown, event: E) => void).call(this, event.data, event);
  }
}

/** What the framework needs of a root that TypeScript keeps protected. Internal. */
interface RootInternals {
  when(event: AnyEvent): void;
}

/** Applies a stored event to a state the caller owns (a load's). Internal. */
export function applyStored<R extends AggregateRoot>(root: R, event: AnyEvent): R {
  (root as unknown as RootInternals).when(event);
  return root;
}

/**
 * Runs `command` on a copy of `root` and returns the events it applied; `root` stays as it was. A thrown
 * error (a `DomainError`, say) passes through, and the copy with its events is dropped. Internal.
 *
 * @throws InvalidArgumentError when the command returns a promise: it must decide synchronously (it runs
 *   again on every retry, on the state then loaded).
 */
export function decideOnCopy<R extends AggregateRoot<E>, E extends AnyEvent>(
  root: R,
  command: (aggregate: R) => unknown,
): E[] {
  const draft = copyRoot(root);
  const applied: AnyEvent[] = [];
  drafts.set(draft, applied);
  try {
    const returned: unknown = command(draft);
    if (typeof (returned as { then?: unknown } | null)?.then === 'function') {
      throw new InvalidArgumentError(
        `a command on ${root.constructor.name} returned a promise; a command must decide synchronously (it runs again on every retry)`,
      );
    }
  } finally {
    drafts.delete(draft);
  }
  return applied as E[];
}

/** A deep copy of a root: same class, own fields copied by `structuredClone`. Internal. */
export function copyRoot<R extends AggregateRoot>(root: R): R {
  let fields: object;
  try {
    fields = structuredClone({ ...root });
  } catch (cause) {
    throw new InvalidArgumentError(
      `${root.constructor.name}: an aggregate's fields must be data that structuredClone copies (no functions or` +
        ` class instances with # fields): ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
  const copy = Object.create(Object.getPrototypeOf(root) as object) as R;
  return Object.assign(copy, fields);
}
