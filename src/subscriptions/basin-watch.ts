import { qualified } from '../db/schema-name.js';
import type { LogContext } from '../log/log-context.js';

/** How long a basin mark asks appenders in other processes to notify, and how often it is renewed. */
const WATCH_MS = 1000;
const RENEW_MS = 400;

/** The basins this process's idle followers hold marked, per log. */
interface Marks {
  held: Map<string, number>;
  timer: NodeJS.Timeout | undefined;
}

const registry = new WeakMap<LogContext, Marks>();

/**
 * Makes appends to `basin` from other processes wake this process's basin-wide followers until the returned
 * release is called: LISTEN is on, and the basin is marked watched (`basins.watched_until`, set for 1 s and
 * renewed every 400 ms while held), which makes every appending process notify after its appends to the
 * basin (see src/log/notifier.ts). Followers hold a mark only while idle: under load they poll instead and
 * release it, and it lapses within a second, so that busy appenders send no notifications nobody waits for.
 * Each renewal first makes sure LISTEN is on, so a lost LISTEN connection is replaced within 400 ms while a
 * mark is held (else idle followers would only poll); the mark is renewed only while LISTEN is on. If LISTEN
 * or the mark fails, followers still poll. Internal.
 */
export async function holdBasinMark(context: LogContext, basin: string): Promise<() => void> {
  let marks = registry.get(context);
  if (!marks) registry.set(context, (marks = { held: new Map(), timer: undefined }));
  const state = marks;
  state.held.set(basin, (state.held.get(basin) ?? 0) + 1);
  if (state.timer === undefined) {
    state.timer = setInterval(() => void renew(context, [...state.held.keys()]), RENEW_MS);
    state.timer.unref();
  }
  if (await context.watcher.listen()) await mark(context, [basin]);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (state.held.get(basin) ?? 1) - 1;
    if (left > 0) state.held.set(basin, left);
    else state.held.delete(basin);
    if (state.held.size === 0) {
      clearInterval(state.timer);
      state.timer = undefined;
    }
  };
}

/** LISTEN again if the connection was lost, then renew the marks (not without LISTEN: nobody would hear). */
async function renew(context: LogContext, basins: string[]): Promise<void> {
  if (basins.length === 0 || context.state.closed) return;
  if (await context.watcher.listen()) await mark(context, basins);
}

async function mark(context: LogContext, basins: string[]): Promise<void> {
  if (basins.length === 0 || context.state.closed) return;
  try {
    await context.pool.query({
      text: `update ${qualified(context.schema, 'basins')}
             set watched_until = clock_timestamp() + make_interval(secs => $2) where name = any($1::text[])`,
      values: [basins, WATCH_MS / 1000],
    });
  } catch {
    // followers poll meanwhile; the next renewal tries again
  }
}
