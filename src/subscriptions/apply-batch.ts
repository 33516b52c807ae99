import type { Kysely } from 'kysely';
import { pause, stopped, type BatchRun } from './batch-run.js';
import {
  advanceCheckpoint,
  loadCheckpoint,
  parkRecord,
  recordFailure,
  type Checkpoint,
} from './checkpoint.js';
import type { ConsumerBatch, ConsumerRecord } from './consumer.js';
import { encodeCursor, parseCursor, type Position } from './cursor.js';
import { ConsumerConflictError, ConsumerHandlerError } from './errors.js';
import type { GlobalRecord } from './types.js';

export type { BatchRun } from './batch-run.js';

const MAX_BACKOFF_MS = 30_000;

type Outcome =
  | { kind: 'committed' }
  | { kind: 'conflict'; expected: number }
  | { kind: 'failed'; error: unknown; counts: boolean };

class CheckpointMoved extends Error {}

/**
 * Applies one batch: in one transaction, the checkpoint's compare-and-set to `next` and the handler. Retries
 * a failure with backoff (a lost connection is not counted as an attempt), then stops with
 * ConsumerHandlerError, or with `park` splits the batch down to the failing record and parks it. Returns true
 * when the checkpoint moved to `next`, false when it is elsewhere (a conflict with `onConflict: 'continue'`),
 * or when the run stopped (its signal aborted or its log closed: that ends every retry and wait at once);
 * `run.checkpoint` is then what the database holds, as far as it could be read.
 *
 * @throws ConsumerHandlerError, ConsumerConflictError (with `onConflict: 'stop'`).
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
      const first = records[0]!;
      const stop = new ConsumerHandlerError(
        {
          basin: run.basin,
          consumer: run.consumer,
          cursor: encodeCursor(run.checkpoint.position),
          stream: first.stream,
          seqNum: first.seqNum,
          attempts,
        },
        outcome.error,
      );
      await recordFailure(run.context, run.basin, run.consumer, stop.message).catch(() => undefined);
      throw stop;
    }
    const delay = Math.min(MAX_BACKOFF_MS, (options.backoffMs ?? 100) * 2 ** Math.max(0, attempts - 1));
    await pause(run, delay);
  }
}

/** One transaction: the checkpoint's compare-and-set first (it takes the row lock), then `work`. */
async function attempt<DB>(
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
      );
      if (!moved) throw new CheckpointMoved();
      await work(trx);
    });
    run.checkpoint = { position: next, version: expected + 1 };
    return { kind: 'committed' };
  } catch (error) {
    // Whether it committed is known only from the checkpoint when the connection was lost around COMMIT.
    const now = await reload(run);
    if (now === undefined) return { kind: 'failed', error, counts: false };
    run.checkpoint = now;
    if (now.version === expected && !(error instanceof CheckpointMoved)) {
      return { kind: 'failed', error, counts: !connectionLost(error) };
    }
    if (
      now.version === expected + 1 &&
      samePosition(now.position, next) &&
      !(error instanceof CheckpointMoved)
    ) {
      return { kind: 'committed' }; // the commit landed; its acknowledgement was lost
    }
    return { kind: 'conflict', expected };
  }
}

function conflict<DB>(run: BatchRun<DB>, expected: number): boolean {
  if ((run.options.onConflict ?? 'stop') === 'continue') return false;
  throw new ConsumerConflictError(
    run.basin,
    run.consumer,
    expected,
    run.checkpoint.version,
    encodeCursor(run.checkpoint.position),
  );
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

/** Parks a record the handler kept failing on, stepping the checkpoint over it in the same transaction. */
async function park<DB>(
  run: BatchRun<DB>,
  record: GlobalRecord,
  next: Position,
  error: unknown,
  attempts: number,
): Promise<boolean> {
  while (!stopped(run)) {
    const outcome = await attempt(run, next, (trx) =>
      parkRecord(trx as never, run.context, {
        basin: run.basin,
        consumer: run.consumer,
        stream: record.stream,
        seqNum: record.seqNum,
        position: parseCursor(record.cursor),
        attempts,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      }),
    );
    if (outcome.kind === 'committed') return true;
    if (outcome.kind === 'conflict') return conflict(run, outcome.expected);
    if (stopped(run)) return false;
    await pause(run, Math.min(MAX_BACKOFF_MS, run.options.backoffMs ?? 100));
  }
  return false;
}

/**
 * The checkpoint as stored, retried with backoff while the database cannot be reached; undefined when the
 * run stopped (aborted, or the log closed).
 */
async function reload<DB>(run: BatchRun<DB>): Promise<Checkpoint | undefined> {
  for (let failures = 0; ; failures++) {
    try {
      return await loadCheckpoint(run.context, run.basin, run.consumer);
    } catch {
      if (stopped(run)) return undefined;
      await pause(run, Math.min(2000, 25 * 2 ** failures));
    }
  }
}

function withKey(record: GlobalRecord): ConsumerRecord {
  return { ...record, idempotencyKey: `${record.basin}/${record.seqNum}/${record.stream}` };
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
