import { InvalidArgumentError } from './errors.js';
import { isUtf8 } from 'node:buffer';
import { toBuffer } from './bytes.js';
import { MAX_BATCH_BYTES, MAX_BATCH_RECORDS, MAX_FENCING_TOKEN_BYTES, meteredSize } from './limits.js';
import type { AppendOptions, AppendRecord, Bytes } from './types.js';

/**
 * A validated batch, laid out as the append statement's parameters: bodies concatenated into one buffer (sent
 * in binary), header names and values flattened into one array, per-record offsets and counts.
 */
export interface EncodedBatch {
  count: number;
  body: Buffer;
  bodyOffsets: number[];
  bodyLengths: number[];
  /** Header names and values as given, flattened; turned into bytes only when stored as bytea[]. */
  headers: Bytes[];
  /**
   * The same header names and values as strings, when every one is valid UTF-8 without NUL (the usual
   * case), else null. They are then stored as text: cheaper to send, to store and to read back as strings.
   */
  headerText: string[] | null;
  headerOffsets: number[];
  headerCounts: number[];
  timestamps: (number | null)[];
  /** Some record has no timestamp (a `client-require` stream refuses the batch). */
  missingTimestamp: boolean;
  /** The token set by the batch's last fence command, or null when it has none. */
  newToken: string | null;
  /** Trim commands: targets and 1-based positions in the batch. */
  trimTargets: number[];
  trimPositions: number[];
  /** Metered size of each record, and of the batch. */
  sizes: number[];
  /** Whether each body is valid UTF-8. */
  utf8: boolean[];
  meteredBytes: number;
}

/**
 * Validates an append and lays it out for the statement. Every rule is checked here, before anything is sent.
 *
 * @throws InvalidArgumentError naming the rule, the record and the value.
 */
export function encodeBatch(records: readonly AppendRecord[], options: AppendOptions = {}): EncodedBatch {
  checkOptions(options);
  if (!Array.isArray(records) || records.length < 1 || records.length > MAX_BATCH_RECORDS) {
    throw new InvalidArgumentError(
      `a batch must have 1–${MAX_BATCH_RECORDS} records; got ${Array.isArray(records) ? records.length : typeof records}`,
    );
  }
  const batch = emptyBatch(records.length);
  const bodies: Bytes[] = [];
  let bodyOffset = 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    if (record === null || typeof record !== 'object') {
      throw new InvalidArgumentError(
        `record ${i} must be an object; got ${record === null ? 'null' : typeof record}`,
      );
    }
    const body = checkBytes(record.body, `record ${i} body`);
    const bodyLength = byteLength(body);
    const headers = record.headers ?? [];
    if (!Array.isArray(headers))
      throw new InvalidArgumentError(`record ${i} headers must be an array of [name, value]`);
    let headerBytes = 0;
    batch.headerOffsets.push(batch.headers.length);
    batch.headerCounts.push(headers.length);
    for (let h = 0; h < headers.length; h++) {
      const pair = headers[h];
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw new InvalidArgumentError(`record ${i} header ${h} must be a [name, value] pair`);
      }
      const name = checkBytes(pair[0], `record ${i} header ${h} name`);
      const value = checkBytes(pair[1], `record ${i} header ${h} value`);
      const nameLength = byteLength(name);
      if (nameLength === 0 && headers.length !== 1) {
        throw new InvalidArgumentError(
          `record ${i} header ${h} has an empty name: only a command record (exactly one header) may have one`,
        );
      }
      headerBytes += nameLength + byteLength(value);
      batch.headers.push(name, value);
      if (batch.headerText) {
        const nameText = asText(name);
        const valueText = asText(value);
        if (nameText === undefined || valueText === undefined) batch.headerText = null;
        else batch.headerText.push(nameText, valueText);
      }
    }
    if (headers.length === 1 && byteLength(batch.headers[batch.headers.length - 2]!) === 0) {
      readCommand(batch, i, toBuffer(batch.headers[batch.headers.length - 1]), toBuffer(body));
    }
    const timestamp = record.timestamp;
    if (timestamp === undefined) {
      batch.missingTimestamp = true;
      batch.timestamps.push(null);
    } else {
      if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
        throw new InvalidArgumentError(
          `record ${i} timestamp must be a non-negative integer (ms); got ${timestamp}`,
        );
      }
      batch.timestamps.push(timestamp);
    }
    const size = meteredSize(headers.length, headerBytes, bodyLength);
    batch.sizes.push(size);
    batch.utf8.push(asText(body) !== undefined);
    batch.meteredBytes += size;
    bodies.push(body);
    batch.bodyOffsets.push(bodyOffset);
    batch.bodyLengths.push(bodyLength);
    bodyOffset += bodyLength;
  }
  if (batch.meteredBytes > MAX_BATCH_BYTES) {
    throw new InvalidArgumentError(
      `a batch must be at most ${MAX_BATCH_BYTES} metered bytes (8 + 2 per header + header and body bytes per record); got ${batch.meteredBytes}`,
    );
  }
  batch.body = bodies.length === 1 ? toBuffer(bodies[0]) : concatenate(bodies, batch.bodyOffsets, bodyOffset);
  return batch;
}

/** A batch of `count` records with nothing laid out yet. */
export function emptyBatch(count: number, body = Buffer.alloc(0)): EncodedBatch {
  return {
    count,
    body,
    bodyOffsets: [],
    bodyLengths: [],
    headers: [],
    headerText: [],
    headerOffsets: [],
    headerCounts: [],
    timestamps: [],
    missingTimestamp: false,
    newToken: null,
    trimTargets: [],
    trimPositions: [],
    sizes: [],
    utf8: [],
    meteredBytes: 0,
  };
}

/** Checks `matchSeqNum` and `fencingToken`. */
export function checkOptions(options: AppendOptions): void {
  if (options === null || typeof options !== 'object')
    throw new InvalidArgumentError('append options must be an object');
  const { matchSeqNum, fencingToken } = options;
  if (matchSeqNum !== undefined && (!Number.isSafeInteger(matchSeqNum) || matchSeqNum < 0)) {
    throw new InvalidArgumentError(`matchSeqNum must be a non-negative integer; got ${String(matchSeqNum)}`);
  }
  if (fencingToken !== undefined) checkFencingToken(fencingToken, 'fencingToken');
}

/**
 * Checks a fencing token: a string of at most 36 UTF-8 bytes, without NUL (tokens are stored as Postgres
 * text, which cannot hold one).
 *
 * @throws InvalidArgumentError naming the rule and the value.
 */
export function checkFencingToken(token: unknown, what: string): string {
  if (typeof token !== 'string')
    throw new InvalidArgumentError(`${what} must be a string; got ${typeof token}`);
  const bytes = Buffer.byteLength(token, 'utf8');
  if (bytes > MAX_FENCING_TOKEN_BYTES || !token.isWellFormed()) {
    throw new InvalidArgumentError(
      `${what} must be at most ${MAX_FENCING_TOKEN_BYTES} bytes of UTF-8; got ${bytes} bytes: ${JSON.stringify(token)}`,
    );
  }
  if (token.includes('\0')) {
    throw new InvalidArgumentError(`${what} must not contain NUL; got ${JSON.stringify(token)}`);
  }
  return token;
}

function readCommand(batch: EncodedBatch, index: number, command: Buffer, body: Buffer): void {
  const name = command.toString('latin1');
  if (name === 'fence') {
    if (body.length > MAX_FENCING_TOKEN_BYTES || !isUtf8(body)) {
      throw new InvalidArgumentError(
        `record ${index} is a fence command: its body (the new token) must be at most ${MAX_FENCING_TOKEN_BYTES} bytes of UTF-8; got ${body.length} bytes`,
      );
    }
    if (body.includes(0)) {
      throw new InvalidArgumentError(
        `record ${index} is a fence command: its body (the new token) must not contain NUL; got ${JSON.stringify(body.toString('utf8'))}`,
      );
    }
    batch.newToken = body.toString('utf8');
  } else if (name === 'trim') {
    if (body.length !== 8) {
      throw new InvalidArgumentError(
        `record ${index} is a trim command: its body must be an 8-byte big-endian sequence number; got ${body.length} bytes`,
      );
    }
    const target = body.readBigUInt64BE(0);
    // Beyond 2^53 a trim is capped at its own position + 1 anyway.
    batch.trimTargets.push(
      target > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(target),
    );
    batch.trimPositions.push(index + 1);
  } else {
    throw new InvalidArgumentError(
      `record ${index} has one header with an empty name, which makes it a command record, but ${JSON.stringify(
        command.toString('utf8'),
      )} is not a command (fence or trim)`,
    );
  }
}

/** The bytes as a string when Postgres text can hold them exactly (valid UTF-8 without NUL), else undefined. */
function asText(value: Bytes): string | undefined {
  if (typeof value === 'string') return value.isWellFormed() && !value.includes('\0') ? value : undefined;
  return isUtf8(value) && !value.includes(0) ? toBuffer(value).toString('utf8') : undefined;
}

/** The UTF-8 length of a string (lone surrogates count as the 3 bytes they are encoded to), or a byte length. */
function byteLength(value: Bytes): number {
  return typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.byteLength;
}

/** All bodies in one buffer, written in place: no buffer per body, no second copy. */
function concatenate(bodies: readonly Bytes[], offsets: readonly number[], total: number): Buffer {
  const buffer = Buffer.allocUnsafe(total);
  bodies.forEach((body, i) => {
    if (typeof body === 'string') buffer.write(body, offsets[i]!, 'utf8');
    else buffer.set(body, offsets[i]);
  });
  return buffer;
}

function checkBytes(value: unknown, what: string): Bytes {
  if (value === undefined) return '';
  if (typeof value === 'string' || value instanceof Uint8Array) return value;
  throw new InvalidArgumentError(
    `${what} must be a string or a Uint8Array; got ${value === null ? 'null' : typeof value}`,
  );
}

/** The body of a trim command: the first sequence number to keep, as 8 bytes big-endian. */
export function trimBody(seqNum: number): Uint8Array {
  const body = Buffer.alloc(8);
  body.writeBigUInt64BE(BigInt(seqNum));
  return body;
}

/** The running totals of `sizes`: where each record ends in the batch's metered bytes. */
export function runningTotals(sizes: readonly number[]): number[] {
  const totals = new Array<number>(sizes.length);
  let total = 0;
  for (let i = 0; i < sizes.length; i++) totals[i] = total += sizes[i]!;
  return totals;
}
