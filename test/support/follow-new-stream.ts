import type { EventLog } from '../../src/index.js';
import { uniqueName } from './event-log.js';

/**
 * Appends one record (body `r0`) to a new stream through `writer` and follows that stream from `follower` in
 * the background, collecting the seqNums seen; `stop()` ends the follow.
 */
export async function followNewStream(
  follower: EventLog,
  writer: EventLog,
  prefix: string,
): Promise<{ name: string; seen: number[]; stop(): Promise<void> }> {
  const name = uniqueName(prefix);
  await writer.stream(name).append([{ body: 'r0' }]);
  const controller = new AbortController();
  const seen: number[] = [];
  const following = (async () => {
    for await (const record of follower.stream(name).follow({ seqNum: 0, signal: controller.signal })) {
      seen.push(record.seqNum);
    }
  })();
  return {
    name,
    seen,
    stop: async () => {
      controller.abort();
      await following;
    },
  };
}
