import { z } from 'zod';
import { InvalidArgumentError } from '../log/errors.js';
import type { GlobalFilter } from './global-filter.js';
import type { StallReport } from './types.js';

/** Options of `log.consumer(name, options)`. */
export interface ConsumerOptions {
  /** The basin consumed (default: the log's basin). */
  basin?: string;
  /**
   * Which records the handler gets; the checkpoint moves over the others too (the stored one at most once a
   * second, when some record of the basin lies in between).
   */
  filter?: GlobalFilter;
  /** At most this many records per batch (1–10,000; default 100). */
  batchSize?: number;
}

/** Options of `consumer.run(handler, options)`. */
export interface RunOptions {
  /** Stops the consumer (after the batch in flight) when aborted. */
  signal?: AbortSignal;
  /** Handler attempts per batch before the consumer stops or parks (1–100; default 5). */
  maxAttempts?: number;
  /** The wait before the first retry, doubled for each next one up to 30 s (default 100 ms). */
  backoffMs?: number;
  /**
   * After the last attempt, park the poison record and go on instead of stopping: a failing batch is split
   * until the failing record is alone, which is then stored in `parked_records` in the transaction that steps
   * the checkpoint over it (default false). Parking is retried like a batch; when it fails `maxAttempts`
   * times the consumer stops with ConsumerHandlerError (`parkAttempts`, `cause`: the parking failure).
   */
  park?: boolean;
  /**
   * When the checkpoint changed under this instance (another instance committed first, or a reset):
   * 'stop' rejects `run` with ConsumerConflictError (default); 'continue' goes on from the new checkpoint.
   */
  onConflict?: 'stop' | 'continue';
  /** See `followAll`. */
  stallAfterMs?: number;
  onStalled?: (report: StallReport) => void;
}

const CONSUMER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$/;

/**
 * Checks a consumer's name: 1–128 characters of letters, digits and `_ . : -`, not starting with a
 * punctuation mark.
 *
 * @throws InvalidArgumentError naming the rule and the value.
 */
export function checkConsumerName(name: unknown): string {
  if (typeof name !== 'string' || !CONSUMER_NAME.test(name)) {
    throw new InvalidArgumentError(
      `a consumer name must match ${CONSUMER_NAME.source} (1–128 letters, digits, _ . : -); got ${JSON.stringify(name)}`,
    );
  }
  return name;
}

const consumerSchema = z
  .object({
    basin: z.string().optional(),
    filter: z.unknown().optional(),
    batchSize: z.number().int().min(1).max(10_000).optional(),
  })
  .strict();

const runSchema = z
  .object({
    signal: z.instanceof(AbortSignal).optional(),
    maxAttempts: z.number().int().min(1).max(100).optional(),
    backoffMs: z.number().int().min(0).max(30_000).optional(),
    park: z.boolean().optional(),
    onConflict: z.enum(['stop', 'continue']).optional(),
    stallAfterMs: z.number().int().positive().optional(),
    onStalled: z.function().optional(),
  })
  .strict();

/** @throws InvalidArgumentError naming the option and the rule. */
export function checkConsumerOptions(options: unknown): void {
  parse(consumerSchema, options, 'consumer options');
}

/** @throws InvalidArgumentError naming the option and the rule. */
export function checkRunOptions(options: unknown): void {
  parse(runSchema, options, 'consumer run options');
}

function parse(schema: z.ZodType, value: unknown, what: string): void {
  const result = schema.safeParse(value ?? {});
  if (result.success) return;
  const issue = result.error.issues[0]!;
  const where = issue.path.length ? issue.path.join('.') : '(root)';
  throw new InvalidArgumentError(`${what}: ${where}: ${issue.message}`, { cause: result.error });
}
