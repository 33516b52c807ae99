/**
 * How an `Idempotency-Key` becomes a command id: prefixed by the operation, so one key reused for a deposit
 * and a withdrawal names two commands, not one. Without a key, every request is a new command.
 */
import { createHash, randomUUID } from 'node:crypto';
import { UnprocessableEntityException } from '@nestjs/common';

/** The command id of an operation under an idempotency key (a fresh one when there is no key). */
export function commandIdOf(operation: string, idempotencyKey: string | undefined): string {
  return `${operation}:${idempotencyKey ?? randomUUID()}`;
}

/**
 * The id of the account an `OpenAccount` request creates: derived from its idempotency key, so repeating the
 * request finds the same account (and its command id) instead of opening a second one.
 */
export function accountIdOf(idempotencyKey: string | undefined): string {
  if (idempotencyKey === undefined) return randomUUID();
  return createHash('sha256').update(`open-account:${idempotencyKey}`).digest('hex').slice(0, 32);
}

/**
 * Refuses a repeated key whose request differs from the first one (the IETF Idempotency-Key draft's 422):
 * `duplicate` says the command id had been handled, `same` whether the recorded events match this request.
 * Nothing was appended either way.
 *
 * @throws UnprocessableEntityException `{ code: 'idempotency_key_reused' }`.
 */
export function refuseChangedRepeat(
  duplicate: boolean,
  same: boolean,
  idempotencyKey: string | undefined,
): void {
  if (!duplicate || same) return;
  throw new UnprocessableEntityException({
    statusCode: 422,
    code: 'idempotency_key_reused',
    message: `Idempotency-Key ${JSON.stringify(idempotencyKey)} was used for a different request; nothing was done`,
  });
}
