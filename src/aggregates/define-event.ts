import type { z } from 'zod';
import { InvalidArgumentError } from '../log/errors.js';

/** Turns data of version `v` into data of version `v + 1`. */
export type Upcaster = (data: never) => unknown;

/**
 * An event type: its name, its current version, the zod schema of that version, and the upcasters that
 * bring older versions' data up to it (key `v`: from version `v` to `v + 1`). Events are always written at
 * `version`; a stored record of an older version is upcast step by step, then checked against `schema`.
 */
export interface EventDefinition<T extends string = string, S extends z.ZodType = z.ZodType> {
  readonly type: T;
  readonly version: number;
  readonly schema: S;
  readonly upcast: Readonly<Record<number, Upcaster>>;
}

/** The event value of an event type: `{ type, data }`, with `data` the schema's output. */
export type EventOf<D> = D extends EventDefinition<infer T, infer S> ? { type: T; data: z.output<S> } : never;

/** An event as aggregates see it: a type name and its data. */
export interface AnyEvent {
  type: string;
  data: unknown;
}

/**
 * Defines an event type.
 *
 * @throws InvalidArgumentError for an empty type, a version that is not a positive integer, or an upcaster
 *   for a version that is not below `version`.
 * @example
 * const Deposited = defineEvent({
 *   type: 'Deposited', version: 2,
 *   schema: z.object({ amount: z.number().int().positive(), currency: z.string() }),
 *   upcast: { 1: (v1: { amount: number }) => ({ ...v1, currency: 'EUR' }) },
 * });
 * type DepositedEvent = EventOf<typeof Deposited>; // { type: 'Deposited'; data: { amount: number; currency: string } }
 */
export function defineEvent<const T extends string, S extends z.ZodType>(definition: {
  type: T;
  version?: number;
  schema: S;
  upcast?: Readonly<Record<number, Upcaster>>;
}): EventDefinition<T, S> {
  const { type, schema } = definition;
  const version = definition.version ?? 1;
  if (typeof type !== 'string' || type.length === 0 || type.length > 256) {
    throw new InvalidArgumentError(
      `an event type must be a name of 1–256 characters; got ${JSON.stringify(type)}`,
    );
  }
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new InvalidArgumentError(
      `event ${type}: version must be a positive integer; got ${String(version)}`,
    );
  }
  const upcast = definition.upcast ?? {};
  for (const key of Object.keys(upcast)) {
    const from = Number(key);
    if (!Number.isSafeInteger(from) || from < 1 || from >= version) {
      throw new InvalidArgumentError(
        `event ${type}: an upcaster must be keyed by a version from 1 to ${version - 1} (it turns that version into the next); got ${JSON.stringify(key)}`,
      );
    }
    if (typeof upcast[from] !== 'function')
      throw new InvalidArgumentError(`event ${type}: upcaster ${from} must be a function`);
  }
  return Object.freeze({ type, version, schema, upcast: Object.freeze({ ...upcast }) });
}
