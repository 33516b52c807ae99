import type { LogContext, Statement } from '../log/log-context.js';
import { stopped, type BatchRun } from './batch-run.js';
import { attempt, conflict } from './checkpoint-attempt.js';
import { isAfter, type Position } from './cursor.js';
import { recordsAfter } from './records-after.js';
import { statementName } from '../log/statement-name.js';

/** A consumer stores a position it read past without records for its handler at most this often. */
export const SKIP_AHEAD_MS = 1000;

/**
 * Moves a consumer's stored checkpoint over the records its filter leaves out, which no batch commits: after
 * a page with nothing for the handler, at most every {@link SKIP_AHEAD_MS}, and only when some record of the
 * basin lies between the stored checkpoint and the position read up to (one index probe; a read that only saw
 * the horizon move writes nothing). So `list()` shows the lag of what is really left. Internal.
 *
 * @example
 * const skip = new SkipAhead(run);
 * if (page.records.length === 0 && !(await skip.passed(page.next))) after = run.checkpoint.position;
 */
export class SkipAhead<DB> {
  readonly #run: BatchRun<DB>;
  /** No record of the basin lies between the stored checkpoint and here (or this is behind it). */
  #clearTo: Position;
  #due = Date.now() + SKIP_AHEAD_MS;

  constructor(run: BatchRun<DB>) {
    this.#run = run;
    this.#clearTo = run.checkpoint.position;
  }

  /**
   * After a page without records for the handler, read up to `to`. Returns false when the checkpoint is
   * elsewhere (a conflict with `onConflict: 'continue'`: go on from `run.checkpoint`), true otherwise (a
   * failure is left for the next time).
   *
   * @throws ConsumerConflictError (with `onConflict: 'stop'`), ConsumerDeletedError.
   */
  async passed(to: Position): Promise<boolean> {
    const run = this.#run;
    if (Date.now() < this.#due || stopped(run)) return true;
    this.#due = Date.now() + SKIP_AHEAD_MS;
    const from = isAfter(this.#clearTo, run.checkpoint.position) ? this.#clearTo : run.checkpoint.position;
    if (!isAfter(to, from)) return true;
    let skipped: boolean;
    try {
      skipped = await recordsBetween(run.context, run.basin, from, to);
    } catch {
      return true; // the next time tries again
    }
    if (!skipped) {
      this.#clearTo = to;
      return true;
    }
    const outcome = await attempt(run, to, async () => undefined);
    if (outcome.kind === 'conflict') return conflict(run, outcome.expected);
    return true;
  }
}

/** Whether some record of `basin` (not trimmed) lies after `from` and at or before `to`. */
async function recordsBetween(
  context: LogContext,
  basin: string,
  from: Position,
  to: Position,
): Promise<boolean> {
  const { rows } = await context.pool.query({
    ...recordsBetweenStatement(context.schema),
    values: [from.key, from.streamId, from.seqNum, basin, to.key, to.streamId, to.seqNum],
  });
  return rows.length > 0;
}

/**
 * The probe of {@link recordsBetween}: `$1`–`$3` the position after, `$4` the basin, `$5`–`$7` the position
 * up to. Ordered as the global index is (see {@link recordsAfter}): no record between the two positions is
 * the usual answer for a consumer that handles every record, and unordered the probe then read the whole
 * records table, stalling the consumer's loop. Internal.
 */
export function recordsBetweenStatement(schema: string): Statement {
  const after = recordsAfter(schema, { key: '$1::xid8', streamId: '$2::bigint', seqNum: '$3::bigint' });
  return {
    name: statementName(schema, 'records-between', 2),
    text: `select 1 from ${after.from}
      where ${after.where} and f.commit_key <= $5::xid8
        and (f.commit_key, f.stream_id, r.seq_num) <= ($5::xid8, $6::bigint, $7::bigint)
        and s.basin = $4::text and r.seq_num >= s.trim_point
      order by ${after.indexOrder}
      limit 1`,
  };
}
