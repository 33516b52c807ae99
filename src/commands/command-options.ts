import { z } from 'zod';
import type { AggregateDefinition } from '../aggregates/define-aggregate.js';
import type { AnyEvent } from '../aggregates/define-event.js';
import { InvalidArgumentError } from '../log/errors.js';

/**
 * What a command expects of its aggregate's stream: `new`, no events yet (else
 * `AggregateAlreadyExistsError`); `existing`, some events (else `AggregateNotFoundError`); `any` (the
 * default). The append checks it: `new` appends with `matchSeqNum: 0`, `existing` with the loaded version,
 * which is at least 1.
 */
export type Expectation = 'new' | 'existing' | 'any';

/** Options of a command, shared by `handle` and `handleMany`. */
export interface CommandOptions {
  /**
   * The command's idempotency key (1–512 characters): the same id on the same aggregate appends nothing new
   * and returns the original result (`duplicate: true`). Without one, a random id is used, which still makes
   * a lost connection around the commit resolvable (by this call).
   */
  commandId?: string;
  /** Stored on every event; default: the command id. */
  correlationId?: string;
  /** Stored on every event; default: the command id. */
  causationId?: string;
  /** The user's metadata, stored (as JSON) on every event. */
  metadata?: Record<string, unknown>;
}

/** Options of `CommandHandler.handle`. */
export interface HandleOptions extends CommandOptions {
  expect?: Expectation;
}

/** One aggregate's part of a command over several aggregates. */
export interface CommandItem<State = unknown, E extends AnyEvent = AnyEvent, Command = unknown> {
  aggregate: AggregateDefinition<State, E, Command>;
  id: string;
  command: Command;
  expect?: Expectation;
}

const id = z.string().min(1).max(512);
const optionsSchema = z
  .object({
    commandId: id.optional(),
    correlationId: id.optional(),
    causationId: id.optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
    expect: z.enum(['new', 'existing', 'any']).optional(),
  })
  .strict();

/** @throws InvalidArgumentError naming the option and the value. */
export function checkCommandOptions<O extends HandleOptions>(options: O, what: string): O {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.join('.');
    const value = path ? (options as Record<string, unknown>)[String(issue.path[0])] : options;
    throw new InvalidArgumentError(
      `${what}: ${path || 'options'}: ${issue.message}; got ${JSON.stringify(value) ?? String(value)}`,
    );
  }
  return options;
}
