import { appendEncoded } from './append.js';
import { encodeBatch, type EncodedBatch } from './encode-batch.js';
import { ClosedError } from './errors.js';
import { MAX_BATCH_BYTES, MAX_BATCH_RECORDS } from './limits.js';
import type { LogContext } from './log-context.js';
import { mergeBatches } from './merge-batches.js';
import type { AppendAck, AppendOptions, AppendRecord } from './types.js';

interface Pending {
  /** Set when the batch was refused at submission: it poisons the session when its turn comes. */
  invalid?: { error: unknown };
  batch: EncodedBatch;
  options: AppendOptions;
  resolve(ack: AppendAck): void;
  reject(error: unknown): void;
}

/**
 * An append session, as in S2: batches are applied and acknowledged in submission order. While one statement
 * is in flight, later batches queue up and are then sent together in one statement (up to 1000 records and
 * 1 MiB), when each batch's conditions are implied by the ones before it (its `matchSeqNum` is the previous
 * batch's end, its token the one in force); a batch whose conditions are not implied starts a new statement.
 * The first failure poisons the session: that batch and every batch after it are rejected with that error,
 * and none of the later ones is applied.
 *
 * @example
 * const session = stream.appendSession();
 * const acks = records.map((r, i) => session.submit([r], { matchSeqNum: i }));
 * await session.close();
 */
export class AppendSession {
  readonly #context: LogContext;
  readonly #basin: string;
  readonly #stream: string;
  readonly #queue: Pending[] = [];
  /**
   * Whether the pump runs. Cleared by the pump itself, in the step in which it finds the queue empty, so a
   * batch submitted from an ack's continuation (which runs before any code chained on the pump's promise)
   * starts a new pump instead of waiting in the queue for one that has ended.
   */
  #running = false;
  #pumping: Promise<void> = Promise.resolve();
  #failure: { error: unknown } | undefined;
  #closed = false;

  /** @internal */
  constructor(context: LogContext, basin: string, stream: string) {
    this.#context = context;
    this.#basin = basin;
    this.#stream = stream;
  }

  /**
   * Submits a batch; the promise resolves with its ack once it is committed.
   *
   * @throws (rejects) as {@link Stream.append} does, or with the error that poisoned the session, or
   *   ClosedError after `close()`.
   */
  submit(records: readonly AppendRecord[], options: AppendOptions = {}): Promise<AppendAck> {
    if (this.#closed) return Promise.reject(new ClosedError('the append session'));
    if (this.#failure) return Promise.reject(this.#failure.error);
    let batch: EncodedBatch | undefined;
    let invalid: { error: unknown } | undefined;
    try {
      batch = encodeBatch(records, options);
    } catch (error) {
      // Batches submitted before this one still go; when its turn comes, it poisons the session (unless an
      // earlier batch failed first), and this one and every later one are refused with the first failure.
      invalid = { error };
    }
    return new Promise<AppendAck>((resolve, reject) => {
      this.#queue.push({ invalid, batch: batch!, options, resolve, reject });
      if (!this.#running) {
        this.#running = true;
        this.#pumping = this.#pump();
      }
    });
  }

  /**
   * Waits for every submitted batch to be acknowledged or rejected, then refuses new ones.
   *
   * @throws (rejects) with the error that poisoned the session, if one did.
   */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#running) await this.#pumping;
    if (this.#failure) throw this.#failure.error;
  }

  /**
   * Sends the queued batches, group by group, until the queue is empty or the session failed; then clears
   * `#running` in the same step (see there).
   */
  async #pump(): Promise<void> {
    for (;;) {
      if (this.#queue.length === 0) {
        this.#running = false;
        return;
      }
      const poison = this.#queue[0]!.invalid;
      if (poison) {
        this.#fail(poison.error);
        return;
      }
      const group = this.#takeGroup();
      // The first and last position of each batch, ascending and without repeats (a 1-record batch has one).
      const positions: number[] = [];
      let offset = 0;
      for (const pending of group) {
        positions.push(offset + 1);
        if (pending.batch.count > 1) positions.push(offset + pending.batch.count);
        offset += pending.batch.count;
      }
      try {
        const outcome = await appendEncoded(
          this.#context,
          this.#basin,
          this.#stream,
          mergeBatches(group.map((p) => p.batch)),
          group[0]!.options,
          positions,
        );
        const index = new Map(positions.map((position, i) => [position, i]));
        const timestampAt = (position: number) => outcome.marks[index.get(position)!]!;
        offset = 0;
        for (const pending of group) {
          const first = offset + 1;
          offset += pending.batch.count;
          pending.resolve({
            start: { seqNum: outcome.start + first - 1, timestamp: timestampAt(first) },
            end: { seqNum: outcome.start + offset, timestamp: timestampAt(offset) },
            tail: outcome.tail,
          });
        }
      } catch (error) {
        for (const pending of group) pending.reject(error);
        this.#fail(error);
        return;
      }
    }
  }

  /** The longest run at the head of the queue whose conditions each follow from the batches before it. */
  #takeGroup(): Pending[] {
    const head = this.#queue.shift()!;
    const group = [head];
    let records = head.batch.count;
    let bytes = head.batch.meteredBytes;
    let next = head.options.matchSeqNum === undefined ? undefined : head.options.matchSeqNum + records;
    let token = head.batch.newToken ?? head.options.fencingToken;
    for (const pending of this.#queue) {
      const { batch, options } = pending;
      if (pending.invalid) break;
      if (records + batch.count > MAX_BATCH_RECORDS || bytes + batch.meteredBytes > MAX_BATCH_BYTES) break;
      if (options.matchSeqNum !== undefined && options.matchSeqNum !== next) break;
      if (options.fencingToken !== undefined && options.fencingToken !== token) break;
      if (batch.missingTimestamp && !head.batch.missingTimestamp) break;
      group.push(pending);
      records += batch.count;
      bytes += batch.meteredBytes;
      next = next === undefined ? undefined : next + batch.count;
      token = batch.newToken ?? token;
    }
    this.#queue.splice(0, group.length - 1);
    return group;
  }

  /** Poisons the session: the queued batches are rejected with `error`, and the pump ends. */
  #fail(error: unknown): void {
    this.#failure = { error };
    this.#running = false;
    for (const pending of this.#queue.splice(0)) pending.reject(error);
  }
}
