/**
 * What the bank's HTTP requests may carry, as zod schemas (zod at the edges): a bad body, id or
 * Idempotency-Key is a 400 that names the rule and the value, before any command runs.
 */
import { BadRequestException } from '@nestjs/common';
import { z } from 'zod';

/** Amounts are integer cents, at least 1 (a custom check, so that the message names the value however bad). */
const amount = z.unknown().superRefine((value, context) => {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    context.addIssue({
      code: 'custom',
      message: `must be a positive integer number of cents (at most 2^53 - 1); got ${JSON.stringify(value) ?? String(value)}`,
    });
  }
}) as z.ZodType<number>;

/** Account ids: what `POST /accounts` hands out (hex or UUIDs), or any 1–64 of A-Z a-z 0-9 _ -. */
export const accountId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'an account id is 1–64 characters of A-Z, a-z, 0-9, "_" and "-"');

export const openAccountBody = z.object({
  owner: z.string().trim().min(1, 'owner must not be empty').max(200),
});
export const amountBody = z.object({ amount });
export const transferBody = z
  .object({ from: accountId, to: accountId, amount })
  .refine((body) => body.from !== body.to, {
    message: 'a transfer needs two different accounts',
    path: ['to'],
  });

/** The `Idempotency-Key` header: optional, 1–200 characters. */
export const idempotencyKey = z.string().min(1).max(200).optional();

/**
 * Parses `value` with `schema`, or throws a 400 `{ code: 'invalid', message }` naming the field, the rule and
 * the value.
 */
export function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  const got = issue.code === 'custom' ? '' : `; got ${describe(valueAt(value, issue.path))}`;
  throw new BadRequestException({
    statusCode: 400,
    code: 'invalid',
    message: `${what}: ${field}${issue.message}${got}`,
  });
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let at = value;
  for (const key of path)
    at = at !== null && typeof at === 'object' ? (at as Record<PropertyKey, unknown>)[key] : undefined;
  return at;
}

function describe(value: unknown): string {
  return value === undefined ? 'nothing' : (JSON.stringify(value) ?? String(value));
}
