import type { AnyEvent } from '../aggregates/define-event.js';
import type { RecordedEvent } from '../aggregates/recorded-event.js';

/**
 * The outcome of a command on one aggregate: its state and version after the command, and the events the
 * command appended. `duplicate` is true when the command id had been handled before: nothing was appended
 * now, and the result is the original one, read back from the stream.
 */
export interface CommandResult<State = unknown, E extends AnyEvent = AnyEvent> {
  /** The aggregate id. */
  id: string;
  streamName: string;
  state: State;
  /** The stream's next seqNum after the command's events. */
  version: number;
  events: RecordedEvent<E>[];
  duplicate: boolean;
}

/** The outcome of a command over several aggregates: one result per item, in order. */
export interface MultiCommandResult<Results extends readonly CommandResult<unknown, AnyEvent>[]> {
  results: Results;
  duplicate: boolean;
}
