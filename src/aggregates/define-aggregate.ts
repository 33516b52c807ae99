import type { z } from 'zod';
import { InvalidArgumentError } from '../log/errors.js';
import type { AnyEvent, EventDefinition, EventOf } from './define-event.js';
import { EventCodec } from './event-codec.js';

/** Snapshots of an aggregate's state, taken every `every` events and stored in Postgres. */
export interface SnapshotOptions<State> {
  /** Take a snapshot when the version passes a multiple of this (at least 1). */
  every: number;
  /**
   * The version of the state's shape. Change it whenever `State` or `evolve` changes: snapshots of another
   * schema version are ignored (the state is replayed from the events instead), never misread.
   */
  schemaVersion: number;
  /** Optional check of a stored snapshot's state; a snapshot that fails it is ignored. */
  schema?: z.ZodType<State>;
}

/** What {@link defineAggregate} takes. */
export interface AggregateSpec<State, E extends AnyEvent, Command> {
  /** The aggregate's name (1–64 characters, `[A-Za-z0-9_.-]`): streams are `<name>-<id>` by default. */
  name: string;
  /** The event types its streams hold. A record of any other type is a decode error on load. */
  events: readonly EventDefinition[];
  /** The state before the first event. Called once per load: return a fresh value. */
  initialState: () => State;
  /** The state after `event`; must be pure (it runs on every load). */
  evolve: (state: State, event: E) => State;
  /**
   * The events a command produces in a state, or a thrown {@link DomainError} to refuse it. An empty array
   * means nothing changes (nothing is appended). Must be pure: it runs again on a retry.
   */
  decide: (command: Command, state: State) => readonly E[];
  /** The stream of an aggregate id (default `` `${name}-${id}` ``). */
  streamName?: (id: string) => string;
  snapshots?: SnapshotOptions<State>;
}

/** A decider plus how it is stored: what {@link AggregateRepository} and {@link CommandHandler} take. */
export interface AggregateDefinition<
  State = unknown,
  E extends AnyEvent = AnyEvent,
  Command = unknown,
> extends Readonly<Required<Omit<AggregateSpec<State, E, Command>, 'snapshots'>>> {
  /** The snapshot options; `schema` checks the stored data, which {@link fromSnapshot} makes a state of. */
  readonly snapshots: SnapshotOptions<unknown> | undefined;
  /** Encodes and decodes this aggregate's events. @internal */
  readonly codec: EventCodec<E>;
  /**
   * `evolve` for a state nothing else holds (a load's, fresh from `initialState` or a snapshot), which it may
   * change in place and return: a class-style aggregate's loads apply events to one instance instead of
   * copying it for each. `evolve` for a decider. @internal
   */
  readonly evolveOwned: (state: State, event: E) => State;
  /** The state a stored snapshot's data (after `snapshots.schema`) stands for. @internal */
  readonly fromSnapshot: (data: unknown) => State;
}

/** The state, event and command types of an aggregate definition. */
/* eslint-disable @typescript-eslint/no-explicit-any -- `any` here only matches any definition */
export type StateOf<A> = A extends AggregateDefinition<infer S, any, any> ? S : never;
export type EventOfAggregate<A> = A extends AggregateDefinition<any, infer E, any> ? E : never;
export type CommandOf<A> = A extends AggregateDefinition<any, any, infer C> ? C : never;
/* eslint-enable @typescript-eslint/no-explicit-any */

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Defines an aggregate: a decider (`initialState`, `evolve`, `decide`) and how it is stored. Aggregate `42`
 * of `account` lives in stream `account-42`, unless `streamName` says otherwise.
 *
 * @throws InvalidArgumentError for a bad name, duplicate event types or bad snapshot options.
 * @example
 * const Account = defineAggregate({
 *   name: 'account',
 *   events: [AccountOpened, Deposited],
 *   initialState: () => ({ opened: false, balance: 0 }),
 *   evolve: (state, event: AccountEvent) => { switch (event.type) { ... } },
 *   decide: (command: AccountCommand, state) => [...],
 *   snapshots: { every: 100, schemaVersion: 1 },
 * });
 */
export function defineAggregate<
  State,
  const Events extends readonly EventDefinition[],
  Command,
  E extends AnyEvent = EventOf<Events[number]>,
>(spec: AggregateSpec<State, E, Command> & { events: Events }): AggregateDefinition<State, E, Command> {
  return buildDefinition(spec, {
    evolveOwned: spec.evolve,
    fromSnapshot: (data) => data as State,
  });
}

/**
 * Checks an aggregate's spec and freezes it into a definition, with the internal parts given (those of
 * {@link defineAggregate}, or of a class-style aggregate). @internal
 */
export function buildDefinition<State, E extends AnyEvent, Command>(
  spec: Omit<AggregateSpec<State, E, Command>, 'snapshots'> & { snapshots?: SnapshotOptions<unknown> },
  internal: Pick<AggregateDefinition<State, E, Command>, 'evolveOwned' | 'fromSnapshot'>,
): AggregateDefinition<State, E, Command> {
  const { name, snapshots } = spec;
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new InvalidArgumentError(
      `an aggregate name must be 1–64 characters of A-Z, a-z, 0-9, "_", "." and "-"; got ${JSON.stringify(name)}`,
    );
  }
  for (const key of ['initialState', 'evolve', 'decide'] as const) {
    if (typeof spec[key] !== 'function')
      throw new InvalidArgumentError(`aggregate ${name}: ${key} must be a function`);
  }
  if (snapshots !== undefined) {
    if (!Number.isSafeInteger(snapshots.every) || snapshots.every < 1) {
      throw new InvalidArgumentError(
        `aggregate ${name}: snapshots.every must be a positive integer; got ${String(snapshots.every)}`,
      );
    }
    if (!Number.isSafeInteger(snapshots.schemaVersion) || snapshots.schemaVersion < 0) {
      throw new InvalidArgumentError(
        `aggregate ${name}: snapshots.schemaVersion must be a non-negative integer; got ${String(snapshots.schemaVersion)}`,
      );
    }
  }
  return Object.freeze({
    name,
    events: spec.events,
    initialState: spec.initialState,
    evolve: spec.evolve,
    decide: spec.decide,
    streamName: spec.streamName ?? ((id: string) => `${name}-${id}`),
    snapshots,
    codec: new EventCodec<E>(spec.events),
    ...internal,
  });
}
