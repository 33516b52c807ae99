/**
 * The events of a bank account. Amounts are integer cents. A transfer leaves one event on each account
 * (`Withdrawn` with `to`, `Deposited` with `from`), appended together in one atomic multi-stream append.
 */
import { z } from 'zod';
import { defineEvent, type EventOf } from '../../src/index.js';

export const cents = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

export const AccountOpened = defineEvent({
  type: 'AccountOpened',
  version: 1,
  schema: z.object({ owner: z.string().min(1).max(200) }),
});

export const Deposited = defineEvent({
  type: 'Deposited',
  version: 1,
  schema: z.object({ amount: cents, from: z.string().optional() }),
});

export const Withdrawn = defineEvent({
  type: 'Withdrawn',
  version: 1,
  schema: z.object({ amount: cents, to: z.string().optional() }),
});

export type AccountEvent =
  EventOf<typeof AccountOpened> | EventOf<typeof Deposited> | EventOf<typeof Withdrawn>;
