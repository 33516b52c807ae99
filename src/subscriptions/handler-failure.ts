import type { BatchRun } from './batch-run.js';
import { recordFailure } from './checkpoint.js';
import { encodeCursor } from './cursor.js';
import { ConsumerHandlerError } from './errors.js';
import type { GlobalRecord } from './types.js';

/**
 * The error a consumer stops with when its handler kept failing on the batch starting at `first` (and, with
 * `parkAttempts`, parking that record kept failing too; `cause` is then the parking failure), recorded as the
 * consumer's `last_error` first (best effort: the stop does not depend on it). Internal.
 */
export async function handlerFailure(
  run: Pick<BatchRun<unknown>, 'context' | 'basin' | 'consumer' | 'checkpoint'>,
  first: GlobalRecord,
  attempts: number,
  cause: unknown,
  parkAttempts = 0,
): Promise<ConsumerHandlerError> {
  const stop = new ConsumerHandlerError(
    {
      basin: run.basin,
      consumer: run.consumer,
      cursor: encodeCursor(run.checkpoint.position),
      stream: first.stream,
      seqNum: first.seqNum,
      attempts,
      parkAttempts,
    },
    cause,
  );
  await recordFailure(run.context, run.basin, run.consumer, stop.message).catch(() => undefined);
  return stop;
}
