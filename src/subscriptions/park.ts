import { backoff, pause, stopped, type BatchRun } from './batch-run.js';
import { attempt, conflict } from './checkpoint-attempt.js';
import { parkRecord } from './checkpoint.js';
import { parseCursor, type Position } from './cursor.js';
import { errorText } from './error-text.js';
import { handlerFailure } from './handler-failure.js';
import type { GlobalRecord } from './types.js';

/**
 * Parks a record the handler failed on `attempts` times (its last error: `error`), stepping the checkpoint
 * over it to `next` in the same transaction. Parking is retried like a batch: with backoff, `maxAttempts`
 * times (a lost connection does not count). Returns true when parked, false when the checkpoint is elsewhere
 * (a conflict with `onConflict: 'continue'`) or the run stopped. Internal.
 *
 * @throws ConsumerHandlerError (parking kept failing: `cause` is its last failure, `parkAttempts` how often),
 *   ConsumerConflictError, ConsumerDeletedError.
 */
export async function park<DB>(
  run: BatchRun<DB>,
  record: GlobalRecord,
  next: Position,
  error: unknown,
  attempts: number,
): Promise<boolean> {
  const parked = {
    basin: run.basin,
    consumer: run.consumer,
    stream: record.stream,
    seqNum: record.seqNum,
    position: parseCursor(record.cursor),
    attempts,
    error: errorText(error),
  };
  let failures = 0;
  while (!stopped(run)) {
    const outcome = await attempt(run, next, (trx) => parkRecord(trx as never, run.context, parked));
    if (outcome.kind === 'committed') return true;
    if (outcome.kind === 'conflict') return conflict(run, outcome.expected);
    if (stopped(run)) return false;
    if (outcome.counts && ++failures >= (run.options.maxAttempts ?? 5)) {
      throw await handlerFailure(run, record, attempts, outcome.error, failures);
    }
    await pause(run, backoff(run.options, failures));
  }
  return false;
}
