import { backoff, pause, stopped, type BatchRun } from './batch-run.js';
import { attempt, conflict } from './checkpoint-attempt.js';
import type { ConsumerBatch, ConsumerRecord } from './consumer.js';
import { encodeCursor, parseCursor, type Position } from './cursor.js';
import { handlerFailure } from './handler-failure.js';
import { idempotencyKey } from './idempotency-key.js';
import { park } from './park.js';
import type { GlobalRecord } from './types.js';

export type { BatchRun } from './batch-run.js';

/**
 * Applies one batch: in one transaction, the checkpoint's compare-and-set to `next` and the handler. Retries
 * a failure with backoff (a lost connection is not counted as an attempt), then stops with
 * ConsumerHandlerError, or with `park` splits the batch down to the failing record and parks it. Returns true
 * when the checkpoint moved to `next`, false when it is elsewhere (a conflict with `onConflict: 'continue'`),
 * or when the run stopped (its signal aborted or its log closed: that ends every retry and wait at once);
 * `run.checkpoint` is then what the database holds, as far as it could be read.
 *
 * @throws ConsumerHandlerError, ConsumerConflictError (with `onConflict: 'stop'`), ConsumerDeletedError.
 */
export async function applyBatch<DB>(
  run: BatchRun<DB>,
  records: readonly GlobalRecord[],
  next: Position,
): Promise<boolean> {
  const { options } = run;
  const maxAttempts = options.maxAttempts ?? 5;
  const batch: ConsumerBatch = {
    consumer: run.consumer,
    basin: run.basin,
    records: records.map(withKey),
    cursor: encodeCursor(next),
    attempt: 0,
  };
  let attempts = 0;
  for (let tries = 1; ; tries++) {
    if (stopped(run)) return false;
    batch.attempt = tries;
    const outcome = await attempt(run, next, (trx) => run.handler(batch, trx as never));
    if (outcome.kind === 'committed') return true;
    if (outcome.kind === 'conflict') return conflict(run, outcome.expected);
    if (stopped(run)) return false;
    if (outcome.counts) attempts++;
    if (attempts >= maxAttempts) {
      if (options.park)
        return records.length > 1
          ? split(run, records, next)
          : park(run, records[0]!, next, outcome.error, attempts);
      throw await handlerFailure(run, records[0]!, attempts, outcome.error);
    }
    await pause(run, backoff(options, attempts));
  }
}

async function split<DB>(
  run: BatchRun<DB>,
  records: readonly GlobalRecord[],
  next: Position,
): Promise<boolean> {
  const half = records.length >> 1;
  const first = records.slice(0, half);
  if (!(await applyBatch(run, first, parseCursor(first[half - 1]!.cursor)))) return false;
  return applyBatch(run, records.slice(half), next);
}

function withKey(record: GlobalRecord): ConsumerRecord {
  const { streamId } = parseCursor(record.cursor);
  return { ...record, idempotencyKey: idempotencyKey(record.basin, streamId, record.seqNum, record.stream) };
}
