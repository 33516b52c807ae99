import type { Kysely } from 'kysely';
import type { LogContext } from '../log/log-context.js';
import { waitFor } from '../log/wait.js';
import type { Checkpoint } from './checkpoint.js';
import type { RunOptions } from './consumer-options.js';
import type { ConsumerHandler } from './consumer.js';

/** What one running consumer carries from batch to batch. Internal. */
export interface BatchRun<DB> {
  context: LogContext;
  db: Kysely<DB>;
  basin: string;
  consumer: string;
  handler: ConsumerHandler<DB>;
  options: RunOptions;
  /** The checkpoint as this instance last knew it. */
  checkpoint: Checkpoint;
  /** This running instance's id (a random UUID per `run()`), stored with each advance it makes. */
  instance: string;
}

/**
 * Whether the run must end now: its signal aborted, or its log closed (after which no transaction can start,
 * so retrying would go on forever).
 */
export function stopped(run: Pick<BatchRun<unknown>, 'context' | 'options'>): boolean {
  return run.options.signal?.aborted === true || run.context.state.closed;
}

/**
 * Waits `ms` before a retry, or less when the run stops meanwhile: the signal aborts or the log closes (its
 * watcher wakes every waiter when it closes). Other wake-ups of the watcher only start the wait again.
 */
export async function pause(run: Pick<BatchRun<unknown>, 'context' | 'options'>, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!stopped(run) && Date.now() < until) {
    const wake = run.context.watcher.subscribeAny();
    try {
      await waitFor(until - Date.now(), run.options.signal, wake.woken);
    } finally {
      wake.cancel();
    }
  }
}

const MAX_BACKOFF_MS = 30_000;

/** The wait after the `failures`-th counted failure: `backoffMs` (default 100), doubled each time, at most 30 s. */
export function backoff(options: RunOptions, failures: number): number {
  return Math.min(MAX_BACKOFF_MS, (options.backoffMs ?? 100) * 2 ** Math.max(0, failures - 1));
}
