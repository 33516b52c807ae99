import { z } from 'zod';
import { InvalidArgumentError } from '../log/errors.js';

/**
 * How a command handler retries a command whose append lost a race (`SeqNumMismatchError`) or whose outcome
 * was unknown: at most `maxAttempts` attempts in all, waiting before attempt `n + 1` a random time between 0
 * and `min(maxDelayMs, baseDelayMs · 2^(n-1))` ("full jitter", so racing writers spread out).
 */
export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** 10 attempts, 2 ms doubling up to 100 ms. */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 10,
  baseDelayMs: 2,
  maxDelayMs: 100,
});

const retrySchema = z
  .object({
    maxAttempts: z.number().int().min(1).max(1000).optional(),
    baseDelayMs: z.number().min(0).optional(),
    maxDelayMs: z.number().min(0).optional(),
  })
  .strict();

/**
 * A complete policy from a partial one (the rest from {@link DEFAULT_RETRY_POLICY}).
 *
 * @throws InvalidArgumentError naming the option and the value.
 */
export function retryPolicy(options: Partial<RetryPolicy> = {}): RetryPolicy {
  const parsed = retrySchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidArgumentError(`retry.${issue.path.join('.') || 'options'}: ${issue.message}`);
  }
  return { ...DEFAULT_RETRY_POLICY, ...parsed.data };
}

/** Waits before attempt `attempt + 1` (after `attempt` failed). */
export async function backoff(policy: RetryPolicy, attempt: number): Promise<void> {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  const ms = Math.random() * cap;
  if (ms < 0.5) return;
  await new Promise((resolve) => setTimeout(resolve, ms));
}
