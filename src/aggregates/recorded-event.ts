import type { AnyEvent } from './define-event.js';

/** What is stored with an event besides its data, in the record's headers. */
export interface EventEnvelope {
  /** Unique per event (a UUID made when the event is written). */
  eventId: string;
  /** The command that produced the event, when it came through a command handler. */
  commandId?: string;
  /** Flows from the command to every event it produces, and on to what they cause. */
  correlationId?: string;
  /** The id of the message (command or event) that caused this event. */
  causationId?: string;
  /** The user's metadata, as given with the command (JSON). */
  metadata?: Record<string, unknown>;
}

/**
 * An event as read back from (or written to) its stream: `{ type, data }` plus where it is and its
 * envelope. `version` is the version it was stored at; `data` is always upcast to the newest.
 *
 * @example
 * const { events } = await commands.handle('42', { type: 'Deposit', amount: 5 });
 * events[0]!.seqNum; events[0]!.eventId; events[0]!.type === 'Deposited';
 */
export type RecordedEvent<E extends AnyEvent = AnyEvent> = E &
  EventEnvelope & {
    streamName: string;
    seqNum: number;
    timestamp: number;
    version: number;
  };
