import type { Kysely } from 'kysely';
import { pause, stopped, type BatchRun } from './batch-run.js';
import { advanceCheckpoint, readCheckpoint, type Checkpoint } from './checkpoint.js';
import { encodeCursor, type Position } from './cursor.js';
import { ConsumerConflictError, ConsumerDeletedError } from './errors.js';

/** How one transaction of a consumer ended. */
export type Outcome =
  | { kind: 'committed' }
  | { kind: 'conflict'; expected: number }
  /** `counts`: false when the connection was lost or the run stopped (not the handler's fault). */
  | { kind: 'failed'; error: unknown; counts: boolean };

class CheckpointMoved extends Error {}

/**
 * One transaction: the checkpoint's compare-and-set to `next` first (it takes the row lock), then `work`.
 * After a failure, tells from the checkpoint as stored whether it committed after all, failed, or lost to a
 * change of the checkpoint; `run.checkpoint` is then the stored one. Internal.
 *
 * A failure can hide a commit: the acknowledgement of a COMMIT that landed was lost, or (the connection lost
 * while the server was still committing) the COMMIT lands later, after this instance found the checkpoint
 * unmoved and tried again; the retry then waits for that transaction's row lock and finds the checkpoint one
 * version on. Either way the batch is this instance's when the stored checkpoint is one version on, at `next`,
 * advanced by this instance: the batch is not applied again, and no conflict is reported. Another
 * instance's commit of the same batch is a conflict, as any other change is.
 *
 * @throws ConsumerDeletedError when the checkpoint is gone.
 */
export async function attempt<DB>(
  run: BatchRun<DB>,
  next: Position,
  work: (trx: Kysely<DB>) => Promise<void>,
): Promise<Outcome> {
  const expected = run.checkpoint.version;
  try {
    await run.db.transaction().execute(async (trx) => {
      const moved = await advanceCheckpoint(
        trx as never,
        run.context,
        run.basin,
        run.consumer,
        expected,
        next,
        run.instance,
      );
      if (!moved) throw new CheckpointMoved();
      await work(trx);
    });
    run.checkpoint = { position: next, version: expected + 1, advancedBy: run.instance };
    return { kind: 'committed' };
  } catch (error) {
    const now = await reload(run);
    if (now === undefined) return { kind: 'failed', error, counts: false };
    run.checkpoint = now;
    if (now.version === expected + 1 && samePosition(now.position, next) && now.advancedBy === run.instance) {
      return { kind: 'committed' };
    }
    if (now.version === expected && !(error instanceof CheckpointMoved)) {
      return { kind: 'failed', error, counts: !connectionLost(error) };
    }
    return { kind: 'conflict', expected };
  }
}

/**
 * After a conflict: false with `onConflict: 'continue'` (go on from `run.checkpoint`).
 *
 * @throws ConsumerConflictError with `onConflict: 'stop'` (the default).
 */
export function conflict<DB>(run: BatchRun<DB>, expected: number): boolean {
  if ((run.options.onConflict ?? 'stop') === 'continue') return false;
  throw new ConsumerConflictError(
    run.basin,
    run.consumer,
    expected,
    run.checkpoint.version,
    encodeCursor(run.checkpoint.position),
  );
}

/**
 * The checkpoint as stored, retried with backoff while the database cannot be reached; undefined when the
 * run stopped (aborted, or the log closed). It is never created here: a checkpoint gone while this instance
 * ran was deleted, and creating it again would start the consumer over from the beginning of the basin.
 *
 * @throws ConsumerDeletedError when the checkpoint is gone.
 */
async function reload<DB>(run: BatchRun<DB>): Promise<Checkpoint | undefined> {
  for (let failures = 0; ; failures++) {
    let stored: Checkpoint | undefined;
    try {
      stored = await readCheckpoint(run.context, run.basin, run.consumer);
    } catch {
      if (stopped(run)) return undefined;
      await pause(run, Math.min(2000, 25 * 2 ** failures));
      continue;
    }
    if (stored) return stored;
    throw new ConsumerDeletedError(run.basin, run.consumer, encodeCursor(run.checkpoint.position));
  }
}

function samePosition(a: Position, b: Position): boolean {
  return a.key === b.key && a.streamId === b.streamId && a.seqNum === b.seqNum;
}

/** Errors that say the connection went away, not that the handler failed. */
function connectionLost(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && /^(08|57P0)|^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT)$/.test(code))
    return true;
  return typeof message === 'string' && /Connection terminated|connection (is )?closed/i.test(message);
}
