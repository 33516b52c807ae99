import { deepStrictEqual, AssertionError } from 'node:assert';
import { AggregateRoot } from '../aggregates/aggregate-root.js';
import type { AggregateDefinition } from '../aggregates/define-aggregate.js';
import type { AnyEvent } from '../aggregates/define-event.js';
import type { EventCodec } from '../aggregates/event-codec.js';

/** What {@link DeciderOutcome.thenState} compares: the state, or some public fields of a class-style one. */
export type ExpectedState<State> =
  State extends AggregateRoot<infer _E>
    ? Partial<{ [K in keyof State as State[K] extends (...args: never[]) => unknown ? never : K]: State[K] }>
    : State;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ErrorClass = abstract new (...args: any[]) => Error;

/**
 * Given/when/then tests of a decider, without a database: `given` events are folded with `evolve` onto the
 * initial state, `when` runs `decide`, and `then` compares the events it returned (each checked against its
 * event type's schema, as the command handler would) or `thenThrows` the error it threw. The assertions
 * throw `AssertionError`, so any test runner reports them.
 *
 * @example
 * DeciderSpec.for(Account)
 *   .given([{ type: 'AccountOpened', data: { owner: 'ada' } }])
 *   .when({ type: 'Deposit', amount: 5 })
 *   .then([{ type: 'Deposited', data: { amount: 5, currency: 'EUR' } }]);
 * DeciderSpec.for(Account).given([]).when({ type: 'Withdraw', amount: 5 }).thenThrows(AccountNotOpen);
 */
export class DeciderSpec<State, E extends AnyEvent, Command> {
  readonly #aggregate: AggregateDefinition<State, E, Command>;
  readonly #given: readonly E[];

  private constructor(aggregate: AggregateDefinition<State, E, Command>, given: readonly E[]) {
    this.#aggregate = aggregate;
    this.#given = given;
  }

  /** A spec of an aggregate's decider, with no events given yet. */
  static for<State, E extends AnyEvent, Command>(
    aggregate: AggregateDefinition<State, E, Command>,
  ): DeciderSpec<State, E, Command> {
    return new DeciderSpec(aggregate, []);
  }

  /** The events that happened before (folded onto the initial state). */
  given(events: readonly E[]): DeciderSpec<State, E, Command> {
    return new DeciderSpec(this.#aggregate, [...this.#given, ...events]);
  }

  /** The command to decide. */
  when(command: Command): DeciderOutcome<State, E> {
    const { initialState, evolveOwned, decide, codec } = this.#aggregate;
    let state = initialState();
    for (const event of this.#given) state = evolveOwned(state, event);
    try {
      // As a command handler writes them and a load reads them back: each checked by its type's schema.
      const events = stored(codec, [...decide(command, state)]);
      return new DeciderOutcome(this.#aggregate, state, { events });
    } catch (error) {
      return new DeciderOutcome(this.#aggregate, state, { error });
    }
  }
}

/** Events as the log stores them and a load reads them back: `{ type, data }` after the schema and JSON. */
function stored<E extends AnyEvent>(codec: EventCodec<E>, events: readonly E[]): E[] {
  return events.map((event) => {
    const record = codec.encode(event, { eventId: 'spec' });
    const { type, data } = codec.decode(
      { seqNum: 0, timestamp: 0, headers: record.headers as [string, string][], body: record.body as string },
      'spec',
    );
    return { type, data } as E;
  });
}

/** What `decide` did in a {@link DeciderSpec}: returned events or threw. */
export class DeciderOutcome<State, E extends AnyEvent> {
  readonly #aggregate: AggregateDefinition<State, E, unknown>;
  readonly #state: State;
  readonly #outcome: { events: E[] } | { error: unknown };

  /** @internal */
  constructor(
    aggregate: AggregateDefinition<State, E, never>,
    state: State,
    outcome: { events: E[] } | { error: unknown },
  ) {
    this.#aggregate = aggregate as AggregateDefinition<State, E, unknown>;
    this.#state = state;
    this.#outcome = outcome;
  }

  /**
   * Asserts that `decide` returned exactly these events, in order, as they would be stored and read back
   * (type and data after the schema, through JSON: an optional field left `undefined` equals one left out).
   *
   * @throws AssertionError; InvalidArgumentError for an expected event its schema refuses.
   */
  then(expected: readonly E[]): this {
    deepStrictEqual(this.#events(), stored(this.#aggregate.codec, expected));
    return this;
  }

  /**
   * Asserts that the state after the given and decided events equals `expected`; for a class-style aggregate
   * (an {@link AggregateRoot}), that each field `expected` names has that value.
   */
  thenState(expected: ExpectedState<State>): this {
    let state = this.#state;
    for (const event of this.#events()) state = this.#aggregate.evolve(state, event);
    if (state instanceof AggregateRoot) {
      const fields = state as unknown as Record<string, unknown>;
      const named = Object.keys(expected as object);
      deepStrictEqual(Object.fromEntries(named.map((key) => [key, fields[key]])), { ...expected });
    } else deepStrictEqual(state, expected);
    return this;
  }

  /** Asserts that `decide` threw an instance of `type`, and that `check` (if given) accepts it. */
  thenThrows<T extends ErrorClass>(type: T, check?: (error: InstanceType<T>) => void): this {
    if (!('error' in this.#outcome)) {
      throw new AssertionError({
        message: `expected decide to throw ${type.name}, but it returned ${JSON.stringify(this.#outcome.events)}`,
      });
    }
    const { error } = this.#outcome;
    if (!(error instanceof type)) {
      throw new AssertionError({
        message: `expected decide to throw ${type.name}, but it threw ${String(error)}`,
        actual: error,
      });
    }
    check?.(error as InstanceType<T>);
    return this;
  }

  #events(): E[] {
    if ('error' in this.#outcome) {
      throw new AssertionError({
        message: `expected decide to return events, but it threw ${String(this.#outcome.error)}`,
        actual: this.#outcome.error,
      });
    }
    return this.#outcome.events;
  }
}
