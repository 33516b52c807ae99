import type { EventLog, FollowAllOptions, GlobalRecord } from '../../../src/index.js';

/** Follows `log`'s global log in the background, keeping what arrives, until `stop()` aborts it. */
export function followInBackground(log: EventLog, options: FollowAllOptions<'string'> = {}) {
  const controller = new AbortController();
  const seen: GlobalRecord[] = [];
  const done = (async () => {
    for await (const r of log.followAll({ ...options, signal: controller.signal })) seen.push(r);
  })();
  return {
    seen,
    bodies: () => seen.map((r) => r.body),
    stop: async () => {
      controller.abort();
      await done;
    },
  };
}
