import { InvalidArgumentError } from './errors.js';
import { MAX_STREAM_NAME_BYTES } from './limits.js';

const BASIN_NAME = /^[a-z0-9][a-z0-9-]{6,46}[a-z0-9]$/;

/**
 * Checks a stream name: 1–512 bytes of UTF-8, not `.` or `..`, no NUL (Postgres text cannot hold one).
 * Lone surrogates are rejected too: they have no UTF-8 encoding, so the name could not be read back exactly.
 *
 * @throws InvalidArgumentError naming the rule and the value.
 */
export function checkStreamName(name: unknown): string {
  if (typeof name !== 'string')
    throw new InvalidArgumentError(`stream name must be a string; got ${typeof name}`);
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes < 1 || bytes > MAX_STREAM_NAME_BYTES) {
    throw new InvalidArgumentError(
      `stream name must be 1–${MAX_STREAM_NAME_BYTES} bytes of UTF-8; got ${bytes} bytes: ${preview(name)}`,
    );
  }
  if (name === '.' || name === '..')
    throw new InvalidArgumentError(`stream name must not be "." or ".."; got "${name}"`);
  if (name.includes('\0'))
    throw new InvalidArgumentError(`stream name must not contain NUL; got ${preview(name)}`);
  if (!name.isWellFormed()) {
    throw new InvalidArgumentError(
      `stream name must be valid Unicode (no lone surrogates); got ${preview(name)}`,
    );
  }
  return name;
}

/**
 * Checks a basin name as S2 does: 8–48 characters of `a-z`, `0-9` and `-`, starting and ending with a letter
 * or digit.
 *
 * @throws InvalidArgumentError naming the rule and the value.
 */
export function checkBasinName(name: unknown): string {
  if (typeof name !== 'string' || !BASIN_NAME.test(name)) {
    throw new InvalidArgumentError(
      `basin name must be 8–48 characters of a-z, 0-9 and "-", starting and ending with a letter or digit; got ${preview(String(name))}`,
    );
  }
  return name;
}

function preview(name: string): string {
  return JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name);
}

/**
 * Checks a listing bound (`prefix`, `startAfter`): a string without NUL and without lone surrogates, which
 * Postgres text could not hold exactly.
 *
 * @throws InvalidArgumentError naming the option and the value.
 */
export function checkListBound(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.includes('\0') || !value.isWellFormed()) {
    throw new InvalidArgumentError(
      `${name} must be a string of valid Unicode without NUL; got ${preview(String(value))}`,
    );
  }
  return value;
}

/** The most names one list call returns. */
export const MAX_LIST_LIMIT = 1000;

/**
 * Checks the options of a basin or stream listing: `prefix` and `startAfter` (see checkListBound) and `limit`,
 * 1–1000 (default 1000).
 *
 * @throws InvalidArgumentError naming the option and the value.
 */
export function checkListOptions(options: { prefix?: string; startAfter?: string; limit?: number }): {
  prefix: string;
  startAfter: string | undefined;
  limit: number;
} {
  const { prefix = '', startAfter, limit = MAX_LIST_LIMIT } = options;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new InvalidArgumentError(
      `limit must be an integer from 1 to ${MAX_LIST_LIMIT}; got ${String(limit)}`,
    );
  }
  checkListBound(prefix, 'prefix');
  if (startAfter !== undefined) checkListBound(startAfter, 'startAfter');
  return { prefix, startAfter, limit };
}
