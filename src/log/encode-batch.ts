import { InvalidArgumentError } from './errors.js';
import { isUtf8 } from 'node:buffer';
import { toBuffer } from './bytes.js';
import { MAX_BATCH_BYTES, MAX_BATCH_RECORDS, MAX_FENCING_TOKEN_BYTES, meteredSize } from './limits.js';
import type { AppendOptions, AppendRecord } from './types.js';

/**
 * A validated batch, laid out as the append statement's parameters: bodies concatenated into one buffer (sent
 * in binary), header names and values flattened into one array, per-record offsets and counts.
 */
export interface EncodedBatch {
  count: number;
  body: Buffer;
  bodyOffsets: number[];
  bodyLengths: number[];
  headers: Buffer[];
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
  const batch: EncodedBatch = {
    count: records.length,
    body: Buffer.alloc(0),
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
  const bodies: Buffer[] = [];
  let bodyOffset = 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    if (record === null || typeof record !== 'object') {
      throw new InvalidArgumentError(
        `record ${i} must be an object; got ${record === null ? 'null' : typeof record}`,
      );
    }
    const body = toBytes(record.body, `record ${i} body`);
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
      const name = toBytes(pair[0], `record ${i} header ${h} name`);
      const value = toBytes(pair[1], `record ${i} header ${h} value`);
      if (name.length === 0 && headers.length !== 1) {
        throw new InvalidArgumentError(
          `record ${i} header ${h} has an empty name: only a command record (exactly one header) may have one`,
        );
      }
      headerBytes += name.length + value.length;
      batch.headers.push(name, value);
      if (batch.headerText) {
        const nameText = asText(pair[0], name);
        const valueText = asText(pair[1], value);
        if (nameText === undefined || valueText === undefined) batch.headerText = null;
        else batch.headerText.push(nameText, valueText);
      }
    }
    if (headers.length === 1 && batch.headers[batch.headers.length - 2]!.length === 0) {
      readCommand(batch, i, batch.headers[batch.headers.length - 1]!, body);
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
    const size = meteredSize(headers.length, headerBytes, body.length);
    batch.sizes.push(size);
    batch.utf8.push(isText(record.body, body));
    batch.meteredBytes += size;
    bodies.push(body);
    batch.bodyOffsets.push(bodyOffset);
    batch.bodyLengths.push(body.length);
    bodyOffset += body.length;
  }
  if (batch.meteredBytes > MAX_BATCH_BYTES) {
    throw new InvalidArgumentError(
      `a batch must be at most ${MAX_BATCH_BYTES} metered bytes (8 + 2 per header + header and body bytes per record); got ${batch.meteredBytes}`,
    );
  }
  batch.body = bodies.length === 1 ? bodies[0]! : Buffer.concat(bodies, bodyOffset);
  return batch;
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

/** Checks a fencing token: a string of at most 36 UTF-8 bytes. */
export function checkFencingToken(token: unknown, what: string): string {
  if (typeof token !== 'string')
    throw new InvalidArgumentError(`${what} must be a string; got ${typeof token}`);
  const bytes = Buffer.byteLength(token, 'utf8');
  if (bytes > MAX_FENCING_TOKEN_BYTES || !token.isWellFormed()) {
    throw new InvalidArgumentError(
      `${what} must be at most ${MAX_FENCING_TOKEN_BYTES} bytes of UTF-8; got ${bytes} bytes: ${JSON.stringify(token)}`,
    );
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

/** Whether bytes can be held by Postgres text: valid UTF-8 without NUL. */
function isText(given: unknown, bytes: Buffer): boolean {
  if (typeof given === 'string') return given.isWellFormed() && !given.includes('\0');
  return isUtf8(bytes) && !bytes.includes(0);
}

/** The bytes as a string when Postgres text can hold them exactly, else undefined. */
function asText(given: unknown, bytes: Buffer): string | undefined {
  if (!isText(given, bytes)) return undefined;
  return typeof given === 'string' ? given : bytes.toString('utf8');
}

function toBytes(value: unknown, what: string): Buffer {
  if (value === undefined || typeof value === 'string' || value instanceof Uint8Array) return toBuffer(value);
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
