import { appendEncoded } from './append.js';
import { AppendSession } from './append-session.js';
import { checkFencingToken, encodeBatch, trimBody } from './encode-batch.js';
import { assertOpen, type LogContext } from './log-context.js';
import { nonNegativeInteger } from './read-options.js';
import { readPage } from './read-page.js';
import { readUnary } from './read.js';
import { readSession, type ReadSessionOptions } from './read-session.js';
import type {
  AppendAck,
  AppendOptions,
  AppendRecord,
  ReadAs,
  ReadBatch,
  ReadOptions,
  SequencedRecord,
  StreamPosition,
} from './types.js';

type Decoded<A extends ReadAs> = A extends 'bytes' ? Uint8Array : string;

/**
 * One stream of a basin: append, read, follow, check the tail, fence and trim. Cheap to create; holds no
 * connection.
 *
 * @example
 * const stream = log.stream('orders-42');
 * const ack = await stream.append([{ body: '{"type":"OrderPlaced"}' }], { matchSeqNum: 0 });
 * const { records } = await stream.read({ seqNum: 0 });
 */
export class Stream {
  readonly #context: LogContext;
  /** The basin the stream belongs to. */
  readonly basin: string;
  /** The stream's name. */
  readonly name: string;

  /** @internal */
  constructor(context: LogContext, basin: string, name: string) {
    this.#context = context;
    this.basin = basin;
    this.name = name;
  }

  /**
   * Appends 1–1000 records (at most 1 MiB metered) as one atomic batch, if the conditions hold: the fencing
   * token is checked first, then `matchSeqNum`, both under the stream's row lock in the inserting
   * transaction. The ack is returned after the commit.
   *
   * @throws FencingTokenMismatchError | SeqNumMismatchError (a condition failed; nothing written),
   *   InvalidArgumentError (a rule broken; nothing written), StreamNotFoundError, BasinNotFoundError,
   *   StorageError (definite: nothing written), IndefiniteAppendError (the outcome is unknown), ClosedError
   *   (the log was closed, also while the append waited for a connection; nothing written).
   * @example
   * const ack = await stream.append([{ body: 'hello', headers: [['type', 'Greeting']] }], { matchSeqNum: 0 });
   * ack.end.seqNum; // 1
   */
  async append(records: readonly AppendRecord[], options: AppendOptions = {}): Promise<AppendAck> {
    assertOpen(this.#context);
    const batch = encodeBatch(records, options);
    const outcome = await appendEncoded(this.#context, this.basin, this.name, batch, options, [
      1,
      batch.count,
    ]);
    const [first, last] = outcome.marks.length === 1 ? [outcome.marks[0]!, outcome.marks[0]!] : outcome.marks;
    return {
      start: { seqNum: outcome.start, timestamp: first! },
      end: { seqNum: outcome.start + batch.count, timestamp: last! },
      tail: outcome.tail,
    };
  }

  /**
   * Appends a fence command record: appends ordered after it must carry `token` to be accepted (appends
   * without a token are never fenced). An empty token clears the fence. Combine with `matchSeqNum` so that
   * of several candidates exactly one fence lands.
   *
   * @throws as {@link append}; InvalidArgumentError for a token over 36 bytes or containing NUL.
   * @example
   * const tail = await stream.checkTail();
   * await stream.fence('writer-2', { matchSeqNum: tail.seqNum });
   */
  async fence(token: string, options: AppendOptions = {}): Promise<AppendAck> {
    checkFencingToken(token, 'the new fencing token');
    return this.append([{ headers: [['', 'fence']], body: token }], options);
  }

  /**
   * Appends a trim command record: records below `seqNum` stop being returned by reads at once and are
   * deleted by the background sweep. The trim point only moves forward and is capped at the trim record's
   * own seqNum + 1.
   *
   * @throws as {@link append}.
   * @example
   * await stream.trim(1000);
   */
  async trim(seqNum: number, options: AppendOptions = {}): Promise<AppendAck> {
    nonNegativeInteger(seqNum, 'trim seqNum');
    return this.append([{ headers: [['', 'trim']], body: trimBody(seqNum) }], options);
  }

  /**
   * Reads up to `count` records (at most 1000) and `bytes` (at most 1 MiB) from `seqNum`, `timestamp` or
   * `tailOffset` (default: the tail), in seqNum order. A start beyond the tail fails unless `clamp`; a read
   * starting at the tail fails unless it may `wait` (seconds), in which case it returns the records that
   * arrive in that time, or none.
   *
   * @throws RangeNotSatisfiableError (with the `tail`), StreamNotFoundError, BasinNotFoundError,
   *   InvalidArgumentError, StorageError, ClosedError (the log was closed, also while the read waited).
   * @example
   * const { records, tail } = await stream.read({ seqNum: 0, count: 100 });
   * const bytes = await stream.read({ seqNum: 0, as: 'bytes' }); // bodies as Uint8Array
   */
  async read<A extends ReadAs = 'string'>(options: ReadOptions<A> = {}): Promise<ReadBatch<Decoded<A>>> {
    assertOpen(this.#context);
    return readUnary(this.#context, this.basin, this.name, options);
  }

  /**
   * The stream's tail: the next seqNum to be assigned and the last record's timestamp. Linearizable: it
   * reflects every append acknowledged before it was called.
   *
   * @throws StreamNotFoundError, BasinNotFoundError, StorageError.
   */
  async checkTail(): Promise<StreamPosition> {
    assertOpen(this.#context);
    const page = await readPage(this.#context, this.basin, this.name, { tail: true }, { count: 1, bytes: 1 });
    return page.tail;
  }

  /**
   * Reads from a start to the tail (or to `count`, `bytes`, `until`), one record at a time, fetching pages
   * of up to 2000 records; memory stays bounded by a page. It ends at the tail its last page saw.
   *
   * @throws (while iterating) as {@link read}, except that reaching the tail ends the iteration.
   * @example
   * for await (const record of stream.readSession({ seqNum: 0 })) console.log(record.seqNum);
   */
  readSession<A extends ReadAs = 'string'>(
    options: ReadSessionOptions<A> = {},
  ): AsyncIterable<SequencedRecord<Decoded<A>>> {
    assertOpen(this.#context);
    return readSession(this.#context, this.basin, this.name, options, false);
  }

  /**
   * Follows the stream: catches up from the start, then yields new records as they commit (appends in this
   * process wake it at once, appends elsewhere through NOTIFY, with polling as the fallback), until `signal`
   * aborts, a limit is reached or the log closes. A lost connection is retried from the next unread seqNum:
   * no gap, no duplicate.
   *
   * @throws (while iterating) RangeNotSatisfiableError, StreamNotFoundError, BasinNotFoundError,
   *   InvalidArgumentError; StorageError when the database refuses a read (`connectionLost` false).
   *
   * @example
   * const controller = new AbortController();
   * for await (const record of stream.follow({ seqNum: 0, signal: controller.signal })) handle(record);
   */
  follow<A extends ReadAs = 'string'>(
    options: ReadSessionOptions<A> = {},
  ): AsyncIterable<SequencedRecord<Decoded<A>>> {
    assertOpen(this.#context);
    return readSession(this.#context, this.basin, this.name, options, true);
  }

  /**
   * Opens an append session: batches applied and acknowledged in submission order, coalesced while one is in
   * flight; the first failure rejects every later batch.
   */
  appendSession(): AppendSession {
    assertOpen(this.#context);
    return new AppendSession(this.#context, this.basin, this.name);
  }
}
