import { setImmediate } from 'node:timers/promises';

/**
 * Runs `task` once the current turn is over: after the callbacks and promise continuations already due
 * (setImmediate). For the append path's background statements (a notification, a basin-mark lookup): started
 * at once, in the turn in which an append released its connection, such a statement took that connection
 * (pg-pool hands out the one released last), and the caller's next append then ran on another connection,
 * idle for a while, whose first statements ran slower (measured here: about 900 µs for the first append after
 * the switch and 60–100 µs more for each of the next fifty, against 300 µs). Waiting for the turn to end lets
 * the caller's next append check its connection out first; the background statement gets another.
 *
 * `setImmediate` comes from `node:timers/promises`, not the global one, which test suites' fake timers replace (vitest's
 * and Jest's do by default): with the global one, an application's tests on fake timers would never see these
 * statements run, and `close()`, which waits for them, would not return.
 */
export function afterTurn<T>(task: () => Promise<T>): Promise<T> {
  return setImmediate().then(task);
}
