/**
 * The aggregate the aggregate and command workloads use: an order book whose events are the bench's
 * ~100-byte `OrderPlaced` body. Version 2 of the event added `currency`; half of a seeded stream is stored at
 * version 1, so loading upcasts it.
 */
import { z } from 'zod';
import type { EventOf } from '../src/index.js';
import { loadFencepost } from './library.js';
import { BODY, EVENT_TYPE } from './workloads.js';

const { defineAggregate, defineEvent } = await loadFencepost();

export const ORDER = JSON.parse(BODY) as {
  orderId: string;
  customerId: string;
  amount: number;
  currency: string;
  items: number;
};
/** The body of the same event stored at version 1 (before `currency` existed). */
export const BODY_V1 = JSON.stringify({ ...ORDER, currency: undefined });

export const OrderPlaced = defineEvent({
  type: EVENT_TYPE,
  version: 2,
  schema: z.object({
    orderId: z.string(),
    customerId: z.string(),
    amount: z.number(),
    currency: z.string(),
    items: z.number().int(),
  }),
  upcast: { 1: (v1: Omit<typeof ORDER, 'currency'>) => ({ ...v1, currency: 'EUR' }) },
});

export interface OrderBook {
  orders: number;
  total: number;
}

export const initialState = (): OrderBook => ({ orders: 0, total: 0 });
export const evolve = (state: OrderBook, event: EventOf<typeof OrderPlaced>): OrderBook => ({
  orders: state.orders + 1,
  total: state.total + event.data.amount,
});

const spec = {
  name: 'book',
  events: [OrderPlaced],
  initialState,
  evolve,
  decide: (_command: { type: 'Place' }): EventOf<typeof OrderPlaced>[] => [{ type: EVENT_TYPE, data: ORDER }],
} as const;

export const Book = defineAggregate(spec);
export const snapshotted = (every: number) =>
  defineAggregate({ ...spec, name: 'book', snapshots: { every, schemaVersion: 1 } });

/** The record of the event at version 1 or 2, as fencepost stores it. */
export function orderRecord(version: 1 | 2, eventId: string): { headers: [string, string][]; body: string } {
  return {
    headers: [
      ['type', EVENT_TYPE],
      ['version', String(version)],
      ['event-id', eventId],
    ],
    body: version === 1 ? BODY_V1 : BODY,
  };
}
