import type { EventLog } from '../log/event-log.js';
import type { CommandResult } from './command-result.js';
import type { Target } from './run-commands.js';

/**
 * The outcome of a command id already applied, read back from the streams; undefined when it was applied
 * to none of them. `written` are the event ids of this call's own appends whose outcome was unknown: when
 * the recorded events are those, the outcome is this call's own (not a duplicate).
 */
export async function readBack(
  log: EventLog,
  targets: readonly Target[],
  commandId: string,
  written: ReadonlySet<string>,
): Promise<{ results: CommandResult[]; duplicate: boolean } | undefined> {
  const ranges = await log.lookupCommand(
    commandId,
    targets.map((t) => ({ basin: t.stream.basin, stream: t.stream.name })),
  );
  if (ranges.length === 0) return undefined;
  const results = await Promise.all(
    targets.map(async (t): Promise<CommandResult> => {
      const range = ranges.find((r) => r.basin === t.stream.basin && r.stream === t.stream.name);
      const id = t.item.id;
      if (!range) {
        // The command appended nothing to this aggregate: its current state is all there is to return.
        const { state, version } = await t.repository.load(id);
        return { id, streamName: t.stream.name, state, version, events: [], duplicate: true };
      }
      const [events, at] = await Promise.all([
        t.repository.events(id, range.start, range.end),
        t.repository.loadAt(id, range.end),
      ]);
      return { id, streamName: t.stream.name, state: at.state, version: range.end, events, duplicate: true };
    }),
  );
  const own = results.some((r) => r.events.some((e) => written.has(e.eventId)));
  if (own) for (const result of results) result.duplicate = false;
  return { results, duplicate: !own };
}
