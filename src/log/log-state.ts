import type pg from 'pg';
import { ClosedError } from './errors.js';

/** pg-pool's `connect` callback. */
export type ConnectCallback = (
  error: Error | undefined,
  client?: pg.PoolClient,
  release?: (failure?: Error | boolean) => void,
) => void;

/** One checkout of the log's: waiting for a client (`callback` set), or holding one (`client` set). */
interface Checkout {
  callback: ConnectCallback | undefined;
  client: pg.PoolClient | undefined;
}

/**
 * Whether a log is open, and the pool connections its work holds or waits for, so that closing can settle
 * all of it: `close()` refuses new checkouts, fails the ones waiting for a connection with ClosedError
 * (pg-pool's `end()` would leave them waiting forever), and wakes every wait registered with `onClose`;
 * `drain()` then waits for the connections in use to come back. Internal.
 */
export class LogState {
  /** Set by `close()`; fencepost's loops and waits end when they see it. */
  closed = false;
  readonly #checkouts = new Set<Checkout>();
  readonly #onClose = new Set<() => void>();
  #drained: (() => void) | undefined;

  /**
   * Checks a client out of `pool` for the log, as `pool.connect(callback)` does. Calls back with ClosedError
   * when the log is closed, or closes while the checkout waits for a connection.
   */
  connect(pool: pg.Pool, callback: ConnectCallback): void {
    if (this.closed) {
      process.nextTick(callback, new ClosedError());
      return;
    }
    const checkout: Checkout = { callback, client: undefined };
    this.#checkouts.add(checkout);
    pool.connect((error, client) => {
      const waiting = checkout.callback;
      checkout.callback = undefined;
      if (waiting === undefined) {
        client?.release(); // the log closed while this waited: ClosedError was given already
        return;
      }
      if (error || !client) {
        this.#end(checkout);
        waiting(error ?? new Error('pg-pool gave neither a client nor an error'));
        return;
      }
      checkout.client = client;
      const release = client.release;
      client.release = (failure?: Error | boolean) => {
        client.release = release;
        this.#end(checkout);
        release(failure);
      };
      waiting(undefined, client, client.release);
    });
  }

  /**
   * A wake-up for a wait that must end when the log closes (at once if it is closed); cancel it when the
   * wait ends, so that a long-lived loop keeps nothing per wait.
   */
  onClose(): { woken: Promise<void>; cancel(): void } {
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    const cancel = () => void this.#onClose.delete(wake);
    if (this.closed) wake();
    else this.#onClose.add(wake);
    return { woken, cancel };
  }

  /**
   * Closes: new checkouts are refused, the waiting ones fail with ClosedError, and waits registered with
   * `onClose` end. Connections in use are left to finish (see `drain`). Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const checkout of [...this.#checkouts]) {
      const waiting = checkout.callback;
      if (waiting === undefined) continue;
      checkout.callback = undefined;
      this.#end(checkout);
      waiting(new ClosedError());
    }
    for (const wake of [...this.#onClose]) wake();
    this.#onClose.clear();
  }

  /**
   * After `close()`: waits until the connections in use come back, at most `ms`; then ends the connections
   * still out (a statement running on one fails as on a lost connection: a write's outcome is unknown, an
   * IndefiniteAppendError) and waits, at most `ms` again, for them to come back. Returns how many were cut.
   */
  async drain(ms: number): Promise<number> {
    if (await this.#returned(ms)) return 0;
    const cut = [...this.#checkouts].flatMap((checkout) => (checkout.client ? [checkout.client] : []));
    for (const client of cut) void client.end().catch(() => undefined);
    await this.#returned(ms);
    return cut.length;
  }

  /** Whether every checkout ended within `ms`. */
  async #returned(ms: number): Promise<boolean> {
    if (this.#checkouts.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const drained = await new Promise<boolean>((resolve) => {
      this.#drained = () => resolve(true);
      timer = setTimeout(() => resolve(false), ms);
    });
    clearTimeout(timer);
    this.#drained = undefined;
    return drained;
  }

  #end(checkout: Checkout): void {
    this.#checkouts.delete(checkout);
    if (this.#checkouts.size === 0) this.#drained?.();
  }
}
