import { qualified } from '../db/schema-name.js';
import type { LogContext } from '../log/log-context.js';

/** How long a basin mark asks appenders in other processes to notify, and when this process renews it. */
const WATCH_SECONDS = 60;
const RENEW_AFTER_MS = 20_000;

const marks = new WeakMap<LogContext, Map<string, number>>();

/**
 * Makes sure appends to `basin` from other processes wake this process's basin-wide followers: LISTEN is on,
 * and the basin is marked watched (`basins.watched_until`, renewed every 20 s), which makes every append to
 * the basin NOTIFY while the mark lasts. Returns false when that failed (followers then poll). Internal.
 */
export async function watchBasin(context: LogContext, basin: string): Promise<boolean> {
  if (!(await context.watcher.listen())) return false;
  let byBasin = marks.get(context);
  if (!byBasin) marks.set(context, (byBasin = new Map()));
  const at = byBasin.get(basin);
  if (at !== undefined && Date.now() - at < RENEW_AFTER_MS) return true;
  try {
    const result = await context.pool.query({
      text: `update ${qualified(context.schema, 'basins')}
             set watched_until = clock_timestamp() + make_interval(secs => $2) where name = $1`,
      values: [basin, WATCH_SECONDS],
    });
    if (result.rowCount === 0) return false;
    byBasin.set(basin, Date.now());
    return true;
  } catch {
    return false;
  }
}
