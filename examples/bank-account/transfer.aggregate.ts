/**
 * A transfer as an aggregate of its own: one stream per transfer, `transfer-<id>`, whose id is the request's
 * Idempotency-Key (or a fresh one). The transfer creates it (`expect: 'new'`) in the same atomic append as the
 * two accounts' events, so a key names one transfer for the whole bank: a request that reuses it finds the
 * stream there, and its `TransferRecorded` event says between which accounts, and how much, the key moved.
 */
import { z } from 'zod';
import { defineAggregate, defineEvent, type EventOf } from '../../src/index.js';
import { cents } from './account.events.js';

export const TransferRecorded = defineEvent({
  type: 'TransferRecorded',
  version: 1,
  schema: z.object({ from: z.string(), to: z.string(), amount: cents }),
});

export type TransferEvent = EventOf<typeof TransferRecorded>;
export type RecordTransfer = TransferEvent['data'];

export const Transfer = defineAggregate({
  name: 'transfer',
  events: [TransferRecorded],
  initialState: (): { recorded?: RecordTransfer } => ({}),
  evolve: (_state: { recorded?: RecordTransfer }, event: TransferEvent) => ({ recorded: event.data }),
  decide: (command: RecordTransfer): TransferEvent[] => [{ type: 'TransferRecorded', data: command }],
});
