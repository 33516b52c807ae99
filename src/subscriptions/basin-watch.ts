import { randomUUID } from 'node:crypto';
import { qualified } from '../db/schema-name.js';
import type { LogContext } from '../log/log-context.js';

/** How long a basin mark asks appenders in other processes to notify, and how often it is renewed. */
const WATCH_MS = 1000;
const RENEW_MS = 400;
/** A mark lapsed this long ago was left by a process that stopped without taking it away: any marking deletes it. */
const STALE_SECS = 60;

/** This log's marks: the basins its idle followers hold marked. */
interface Marks {
  /** Its rows' id in `basin_watchers`: one per connected log. */
  watcher: string;
  held: Map<string, number>;
  timer: NodeJS.Timeout | undefined;
  /**
   * The last change of its rows (a mark, a renewal, a removal): each change waits for the one before, so that
   * a removal never lands after the mark that followed it.
   */
  last: Promise<void>;
  /** When this log last deleted the stale marks of other processes (0: not yet). */
  sweptAt: number;
}

const registry = new WeakMap<LogContext, Marks>();

/**
 * Makes appends to `basin` from other processes wake this process's basin-wide followers until the returned
 * release is called: LISTEN is on, and the basin is marked watched by this log (its row in `basin_watchers`,
 * set for 1 s and renewed every 400 ms while held), which makes every appending process notify after its
 * appends to the basin (see src/log/basin-marks.ts and src/log/notifier.ts). Followers hold a mark only
 * while idle: under load they poll instead. When the last hold on a basin is released, the log deletes its
 * row at once, so that appending processes stop notifying within 100 ms (the age of their answers, see
 * src/log/basin-marks.ts) instead of when the mark lapses; another process's mark of the same basin is a row
 * of its own and stays. Each renewal first makes sure LISTEN is on, so a lost LISTEN connection is replaced
 * within 400 ms while a mark is held (else idle followers would only poll); the mark is renewed only while
 * LISTEN is on. If LISTEN or the mark fails, followers still poll. Internal.
 */
export async function holdBasinMark(context: LogContext, basin: string): Promise<() => void> {
  let marks = registry.get(context);
  if (!marks) {
    marks = { watcher: randomUUID(), held: new Map(), timer: undefined, last: Promise.resolve(), sweptAt: 0 };
    registry.set(context, marks);
  }
  const state = marks;
  state.held.set(basin, (state.held.get(basin) ?? 0) + 1);
  if (state.timer === undefined) {
    state.timer = setInterval(() => void renew(context, state), RENEW_MS);
    state.timer.unref();
  }
  if (await context.watcher.listen()) {
    await change(state, () => mark(context, state, state.held.has(basin) ? [basin] : []));
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (state.held.get(basin) ?? 1) - 1;
    if (left > 0) {
      state.held.set(basin, left);
      return;
    }
    state.held.delete(basin);
    if (state.held.size === 0) {
      clearInterval(state.timer);
      state.timer = undefined;
    }
    void change(state, () => unmark(context, state, basin));
  };
}

/** Runs `op` after the log's previous change of its marks; never rejects (the operations catch their errors). */
function change(state: Marks, op: () => Promise<void>): Promise<void> {
  const next = state.last.then(op);
  state.last = next;
  return next;
}

/** LISTEN again if the connection was lost, then renew the marks (not without LISTEN: nobody would hear). */
async function renew(context: LogContext, state: Marks): Promise<void> {
  if (state.held.size === 0 || context.state.closed) return;
  if (await context.watcher.listen()) await change(state, () => mark(context, state, [...state.held.keys()]));
}

/**
 * Marks `basins` (those that exist) watched by this log for WATCH_MS from now. At most once every STALE_SECS
 * it first deletes marks that lapsed that long ago (their process stopped without deleting them), skipping
 * any another transaction holds, so that no two markings wait for each other. The deletion is a statement of
 * its own: a marking that held a stale row's lock while its insert waited for the basin row (a foreign key
 * check) would deadlock with the basin's deletion, which holds the basin row and deletes that stale row too.
 */
async function mark(context: LogContext, state: Marks, basins: string[]): Promise<void> {
  if (basins.length === 0 || context.state.closed) return;
  const watchers = qualified(context.schema, 'basin_watchers');
  if (Date.now() - state.sweptAt >= STALE_SECS * 1000) {
    try {
      await context.pool.query({
        text: `delete from ${watchers} where (basin, watcher) in (
                 select basin, watcher from ${watchers}
                 where watched_until < clock_timestamp() - make_interval(secs => $1) and watcher <> $2::uuid
                 for update skip locked)`,
        values: [STALE_SECS, state.watcher],
      });
      state.sweptAt = Date.now();
    } catch {
      // stale marks only make appenders notify needlessly: the next marking tries again
    }
  }
  try {
    await context.pool.query({
      text: `insert into ${watchers} (basin, watcher, watched_until)
             select b.name, $2::uuid, clock_timestamp() + make_interval(secs => $3)
             from ${qualified(context.schema, 'basins')} b where b.name = any($1::text[])
             on conflict (basin, watcher) do update set watched_until = excluded.watched_until`,
      values: [basins, state.watcher, WATCH_MS / 1000],
    });
  } catch {
    // followers poll meanwhile; the next renewal tries again
  }
}

/** Takes this log's mark of `basin` away (no follower of it is idle any more). */
async function unmark(context: LogContext, state: Marks, basin: string): Promise<void> {
  if (context.state.closed || state.held.has(basin)) return;
  try {
    await context.pool.query({
      text: `delete from ${qualified(context.schema, 'basin_watchers')} where basin = $1 and watcher = $2::uuid`,
      values: [basin, state.watcher],
    });
  } catch {
    // the mark lapses within WATCH_MS
  }
}
