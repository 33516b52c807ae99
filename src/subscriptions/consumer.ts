import { randomUUID } from 'node:crypto';
import { Kysely, PostgresDialect, type Transaction } from 'kysely';
import { poolForKysely } from '../log/event-log.js';
import { assertOpen, type LogContext } from '../log/log-context.js';
import { applyBatch, type BatchRun } from './apply-batch.js';
import { loadCheckpoint } from './checkpoint.js';
import { checkConsumerName, checkConsumerOptions, checkRunOptions } from './consumer-options.js';
import type { ConsumerOptions, RunOptions } from './consumer-options.js';
import { FOLLOW_PAGE_RECORDS } from './follow-all.js';
import { tailWait, TailWaiter } from './tail-waiter.js';
import { checkFilter, type CheckedFilter } from './global-filter.js';
import { readAllPage, type GlobalPage } from './read-all-page.js';
import { SkipAhead } from './skip-ahead.js';
import type { GlobalRecord } from './types.js';
import type { Cursor, Position } from './cursor.js';

export type { ConsumerOptions, RunOptions } from './consumer-options.js';

/** A record as a consumer's handler gets it. */
export interface ConsumerRecord extends GlobalRecord {
  /**
   * `basin/streamId/seqNum/stream` (the stream's row id, never reused: a stream deleted and created again
   * gets keys of its own): stable for this record whatever instance or attempt handles it; for effects
   * outside Postgres, which are at-least-once, to deduplicate by.
   */
  idempotencyKey: string;
}

/** One batch for the handler. */
export interface ConsumerBatch {
  consumer: string;
  basin: string;
  records: ConsumerRecord[];
  /** The checkpoint once this batch commits. */
  cursor: Cursor;
  /** 1 on the first try of this batch, then 2, 3, … */
  attempt: number;
}

/**
 * Handles one batch. Its writes through `trx` commit in one transaction with the checkpoint's advance, or not
 * at all (a throw rolls both back and the batch is tried again).
 */
export type ConsumerHandler<DB> = (batch: ConsumerBatch, trx: Transaction<DB>) => Promise<void>;

const databases = new WeakMap<LogContext, Kysely<unknown>>();

/**
 * A named, durable consumer of a basin's global log: its checkpoint lives in Postgres and advances in the
 * handler's transaction, so a Postgres read model is updated exactly once: a process killed mid-batch leaves no
 * trace of that batch, which its restart applies again. A connection lost around a batch's COMMIT is decided
 * from the checkpoint as stored, and from which instance stored it: a commit that lands late is taken for
 * this instance's own, never applied again, and never reported as a conflict.
 *
 * @example
 * const controller = new AbortController();
 * await log.consumer<ReadModel>('billing', { batchSize: 500 }).run(async (batch, trx) => {
 *   for (const r of batch.records) {
 *     await trx.insertInto('totals').values({ stream: r.stream, n: 1 })
 *       .onConflict((oc) => oc.column('stream').doUpdateSet((eb) => ({ n: eb('totals.n', '+', 1) }))).execute();
 *   }
 * }, { signal: controller.signal });
 */
export class Consumer<DB> {
  readonly #context: LogContext;
  readonly #filter: CheckedFilter;
  readonly #batchSize: number;
  /** The consumer's name. */
  readonly name: string;
  /** The basin it consumes. */
  readonly basin: string;

  /** @internal */
  constructor(context: LogContext, basin: string, name: string, options: ConsumerOptions) {
    checkConsumerOptions(options);
    this.#context = context;
    this.name = checkConsumerName(name);
    this.basin = basin;
    this.#filter = checkFilter(options.filter);
    this.#batchSize = options.batchSize ?? 100;
  }

  /**
   * Runs the consumer from its checkpoint (the start of the basin the first time): calls `handler` with each
   * batch of records after it, catching up and then following live, until `signal` aborts (the batch in
   * flight finishes) or the log closes; then resolves, also from a wait between retries (at once, not after
   * the backoff). A failing batch is retried with backoff; after `maxAttempts` the consumer stops (or parks
   * the record, with `park`).
   *
   * @throws InvalidArgumentError (bad options, before anything runs); ConsumerHandlerError (the handler kept
   *   failing; the checkpoint stays before the batch); ConsumerConflictError (the checkpoint changed under
   *   this instance, with `onConflict: 'stop'`); ConsumerDeletedError (`log.consumers.delete` deleted it while
   *   it ran, whatever `onConflict` says); StorageError.
   */
  async run(handler: ConsumerHandler<DB>, options: RunOptions = {}): Promise<void> {
    checkRunOptions(options);
    assertOpen(this.#context);
    const context = this.#context;
    const state: BatchRun<DB> = {
      context,
      db: userDatabase(context) as Kysely<DB>,
      basin: this.basin,
      consumer: this.name,
      handler,
      options,
      checkpoint: await loadCheckpoint(context, this.basin, this.name),
      instance: randomUUID(),
    };
    let after = state.checkpoint.position;
    const tail = new TailWaiter(context, tailWait(this.basin, options));
    const limit = Math.min(this.#batchSize, FOLLOW_PAGE_RECORDS);
    const read = (from: Position) => readAllPage(context, this.basin, from, limit, this.#filter, 'string');
    // After a full page the next one is read while the handler runs (it starts where this one ends, whatever
    // the handler does); a failed read-ahead is simply read again.
    let ahead: Promise<GlobalPage<string> | undefined> | undefined;
    const skip = new SkipAhead(state);
    try {
      while (!options.signal?.aborted && !context.state.closed) {
        const page = (await ahead) ?? (await tail.read(() => read(after)));
        ahead = undefined;
        if (page === undefined) continue;
        let moved: boolean;
        if (page.count > 0) {
          if (page.full) ahead = read(page.next).catch(() => undefined);
          moved = await applyBatch(state, page.records(), page.next);
        } else {
          // Nothing for the handler: the stored checkpoint moves over what the filter left out now and then.
          moved = await skip.passed(page.next);
        }
        if (moved) {
          after = page.next;
          await tail.settle(page);
        } else {
          // Moved elsewhere (a conflict with 'continue', or stopped): read from the checkpoint as it is, at
          // once, without the wake-up this page's read subscribed to (cancelled with the basin mark, which
          // the next idle wait holds again).
          after = state.checkpoint.position;
          await ahead;
          ahead = undefined;
          tail.cancel();
        }
      }
    } finally {
      await ahead;
      tail.cancel();
    }
  }
}

/** A Kysely on the log's pool for handlers' transactions (no schema set: users name their own tables). */
function userDatabase(context: LogContext): Kysely<unknown> {
  let db = databases.get(context);
  if (!db) {
    db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: poolForKysely(context.pool) }) });
    databases.set(context, db);
  }
  return db;
}
