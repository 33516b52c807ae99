import type { StreamPosition } from './types.js';

/**
 * The base of every error fencepost throws. `code` is stable and machine-readable; `indefinite` is true only
 * when the outcome of a write is unknown (the connection was lost around its commit).
 *
 * @example
 * try { await stream.append(records, { matchSeqNum: 5 }); }
 * catch (e) { if (e instanceof FencepostError && e.code === 'seq_num_mismatch') ... }
 */
export class FencepostError extends Error {
  readonly code: string;
  readonly indefinite: boolean = false;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** An argument broke a rule (S2's 422 `invalid` / 400): nothing was written. */
export class InvalidArgumentError extends FencepostError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid', message, options);
  }
}

/** The append's `matchSeqNum` did not equal the stream's tail, `expectedSeqNum` (S2's 412). Nothing was written. */
export class SeqNumMismatchError extends FencepostError {
  readonly expectedSeqNum: number;
  /** The stream whose condition failed, when an append to several streams (`appendMany`) names it. */
  readonly stream: string | undefined;

  constructor(expectedSeqNum: number, matchSeqNum: number, stream?: string) {
    super(
      'seq_num_mismatch',
      `matchSeqNum ${matchSeqNum} does not match the${stream === undefined ? '' : ` ${JSON.stringify(stream)}`} stream's next sequence number ${expectedSeqNum}`,
    );
    this.expectedSeqNum = expectedSeqNum;
    this.stream = stream;
  }
}

/** The append's fencing token did not equal the stream's, `expectedFencingToken` (S2's 412). Nothing was written. */
export class FencingTokenMismatchError extends FencepostError {
  readonly expectedFencingToken: string;
  /** The stream whose condition failed, when an append to several streams (`appendMany`) names it. */
  readonly stream: string | undefined;

  constructor(expectedFencingToken: string, fencingToken: string, stream?: string) {
    super(
      'fencing_token_mismatch',
      `fencing token ${JSON.stringify(fencingToken)} does not match the${stream === undefined ? '' : ` ${JSON.stringify(stream)}`} stream's token ${JSON.stringify(expectedFencingToken)}`,
    );
    this.expectedFencingToken = expectedFencingToken;
    this.stream = stream;
  }
}

/** A read's start is at or beyond the tail and the read may not wait (S2's 416). */
export class RangeNotSatisfiableError extends FencepostError {
  readonly tail: StreamPosition;

  constructor(tail: StreamPosition, start: string) {
    super('range_not_satisfiable', `read start ${start} is at or beyond the tail ${tail.seqNum}`);
    this.tail = tail;
  }
}

/** The stream does not exist (and its basin does not create streams on append/read). */
export class StreamNotFoundError extends FencepostError {
  readonly stream: string;

  constructor(basin: string, stream: string) {
    super(
      'stream_not_found',
      `stream ${JSON.stringify(stream)} does not exist in basin ${JSON.stringify(basin)}`,
    );
    this.stream = stream;
  }
}

/** The basin does not exist. */
export class BasinNotFoundError extends FencepostError {
  readonly basin: string;

  constructor(basin: string) {
    super('basin_not_found', `basin ${JSON.stringify(basin)} does not exist`);
    this.basin = basin;
  }
}

/** A basin or stream of that name exists already (S2's 409). */
export class ResourceAlreadyExistsError extends FencepostError {
  constructor(kind: 'basin' | 'stream', name: string) {
    super('resource_already_exists', `${kind} ${JSON.stringify(name)} already exists`);
  }
}

/** The log was closed. */
export class ClosedError extends FencepostError {
  constructor(what = 'the event log') {
    super('closed', `${what} is closed`);
  }
}

/**
 * The database failed in a way that says nothing was written (a definite failure): an error reply to the
 * statement, or a failure before it was sent.
 *
 * `connectionLost` tells the two kinds apart. True: the connection was lost during a read, or none could be
 * had (the server unreachable, restarting, out of connection slots). False: the database refused the
 * statement.
 *
 * `transient` says whether trying again later may succeed: after a lost connection, and after a refusal of a
 * passing kind (the statement was canceled or timed out, a serialization failure or deadlock, a lock not
 * available, the server out of resources: SQLSTATE 57014, class 40, 55P03, class 53). Followers and
 * consumers retry those by themselves. A refusal that would come again (an undefined table, a denied
 * permission, ...) is not transient.
 *
 * @example
 * catch (e) { if (e instanceof StorageError && e.transient) return retryLater(); throw e; }
 */
export class StorageError extends FencepostError {
  readonly connectionLost: boolean;
  readonly transient: boolean;

  constructor(message: string, options?: { cause?: unknown; connectionLost?: boolean; transient?: boolean }) {
    super('storage', message, options);
    this.connectionLost = options?.connectionLost ?? false;
    this.transient = this.connectionLost || (options?.transient ?? false);
  }
}

/**
 * The connection was lost after the append was sent and before its commit was confirmed: it may or may not
 * have been written. Resolve it by retrying with the same `matchSeqNum` (a `SeqNumMismatchError` whose
 * `expectedSeqNum` is past it means the first try landed) or by reading back.
 */
export class IndefiniteAppendError extends FencepostError {
  override readonly indefinite = true;

  constructor(options: { cause?: unknown }) {
    super(
      'indefinite',
      'the connection was lost before the append was confirmed; it may or may not have been written',
      options,
    );
  }
}

/**
 * An append with a command id (`appendMany(..., { commandId })`) found that command id recorded already on
 * one of its streams: the command was applied before, and nothing was written now. Look its outcome up with
 * `log.lookupCommand`.
 */
export class DuplicateCommandError extends FencepostError {
  readonly commandId: string;

  constructor(commandId: string, options?: { cause?: unknown }) {
    super(
      'duplicate_command',
      `command ${JSON.stringify(commandId)} was applied already to one of the streams; nothing was written`,
      options,
    );
    this.commandId = commandId;
  }
}
