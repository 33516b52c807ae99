import { InvalidArgumentError } from './errors.js';
import { MAX_READ_BYTES, MAX_READ_RECORDS, MAX_READ_WAIT_SECONDS } from './limits.js';
import type { ReadOptions, ReadStart } from './types.js';

/** A read start after validation. */
export type Start = { seqNum: number } | { timestamp: number } | { tailOffset: number } | { tail: true };

/**
 * Checks where a read starts: at most one of `seqNum`, `timestamp`, `tailOffset` (none: the tail).
 *
 * @throws InvalidArgumentError naming the rule and the value.
 */
export function checkStart(options: ReadStart): Start {
  const given = (['seqNum', 'timestamp', 'tailOffset'] as const).filter((k) => options[k] !== undefined);
  if (given.length > 1) {
    throw new InvalidArgumentError(
      `a read starts at one of seqNum, timestamp or tailOffset; got ${given.join(' and ')}`,
    );
  }
  const key = given[0];
  if (key === undefined) return { tail: true };
  const value = nonNegativeInteger(options[key], key);
  return { [key]: value } as Start;
}

/** The validated bounds of a unary read. */
export interface UnaryRead {
  start: Start;
  count: number;
  bytes: number;
  until: number | undefined;
  clamp: boolean;
  waitMs: number;
}

/**
 * Checks a unary read's options: `count` and `bytes` positive integers, capped at 1000 and 1 MiB as S2 caps
 * unary reads (and defaulting to the caps), `until`, `clamp`, `wait` 0–60 seconds.
 *
 * @throws InvalidArgumentError naming the rule and the value.
 */
export function checkUnaryRead(options: ReadOptions<'string' | 'bytes'>): UnaryRead {
  const start = checkStart(options);
  const count = capped(options.count, 'count', MAX_READ_RECORDS);
  const bytes = capped(options.bytes, 'bytes', MAX_READ_BYTES);
  const until = options.until === undefined ? undefined : nonNegativeInteger(options.until, 'until');
  const wait = options.wait ?? 0;
  if (typeof wait !== 'number' || !(wait >= 0 && wait <= MAX_READ_WAIT_SECONDS)) {
    throw new InvalidArgumentError(`wait must be 0–${MAX_READ_WAIT_SECONDS} seconds; got ${String(wait)}`);
  }
  checkAs(options.as);
  return { start, count, bytes, until, clamp: options.clamp === true, waitMs: Math.round(wait * 1000) };
}

/** @throws InvalidArgumentError unless `as` is 'string', 'bytes' or absent. */
export function checkAs(as: unknown): void {
  if (as !== undefined && as !== 'string' && as !== 'bytes') {
    throw new InvalidArgumentError(`as must be "string" or "bytes"; got ${JSON.stringify(as)}`);
  }
}

export function nonNegativeInteger(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(`${name} must be a non-negative integer; got ${String(value)}`);
  }
  return value;
}

function capped(value: unknown, name: string, cap: number): number {
  if (value === undefined) return cap;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(`${name} must be a positive integer; got ${String(value)}`);
  }
  return Math.min(value, cap);
}
