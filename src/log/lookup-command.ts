import { assertOpen, type LogContext } from './log-context.js';
import { runQuery } from './run-query.js';

/** Where a command's records landed on one stream: seqNums `start` (inclusive) to `end` (exclusive). */
export interface CommandRange {
  basin: string;
  stream: string;
  start: number;
  end: number;
}

/**
 * The ranges a command id was recorded with on the given streams (by `appendMany` with that `commandId`);
 * none when it was not applied to any of them. Internal: `EventLog.lookupCommand` validates and calls it.
 *
 * @throws StorageError.
 */
export async function lookupCommand(
  context: LogContext,
  commandId: string,
  streams: readonly { basin: string; stream: string }[],
): Promise<CommandRange[]> {
  assertOpen(context);
  const rows = await runQuery<{ basin: string; name: string; start_seq: number; end_seq: number }>(
    context.pool,
    {
      ...context.statements.lookupCommand,
      values: [commandId, streams.map((s) => s.basin), streams.map((s) => s.stream)],
    },
    'read',
  );
  return rows.map((r) => ({ basin: r.basin, stream: r.name, start: r.start_seq, end: r.end_seq }));
}
