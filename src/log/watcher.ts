import pg from 'pg';
import { qualified } from '../db/schema-name.js';
import { notifyChannel } from './statement-parts.js';

/** How long a follower's mark asks appenders in other processes to notify, and when it is renewed. */
const WATCH_SECONDS = 60;
const RENEW_AFTER_MS = 20_000;
/** How long making the LISTEN connection may take, unless the pool's options say otherwise. */
const LISTEN_CONNECT_TIMEOUT_MS = 10_000;
/**
 * After a failed attempt to LISTEN (refused, timed out, or the connection lost before its LISTEN ended), the
 * waiters are woken this long after, so that they re-read and their next wait tries again: else a follower
 * would wait out its whole poll interval before LISTEN was tried again.
 */
const LISTEN_RETRY_MS = 500;
/** Past this many remembered marks, expired ones are forgotten. */
const MAX_MARKS = 1000;

type Wake = () => void;

/**
 * Wakes followers waiting at a stream's tail. Appends through this process wake them directly; appends from
 * other processes reach them by NOTIFY on one LISTEN connection per log. An append notifies only while some
 * follower has marked the stream as watched (`streams.watched_until`), so unwatched streams pay nothing for
 * notifications. Followers also poll, so a lost LISTEN connection delays them but never loses records.
 *
 * The LISTEN connection is a client of its own, made with the pool's connection options when a follower
 * first waits, and again after it was lost: a pooled one would be held for good, one pool slot less for
 * everything else (with `max: 1`, none left). Internal.
 */
export class Watcher {
  readonly #pool: pg.Pool;
  readonly #schema: string;
  readonly #byName = new Map<string, Set<Wake>>();
  readonly #byId = new Map<string, Set<Wake>>();
  readonly #marked = new Map<string, { id: string; at: number }>();
  /** Basin-wide followers: woken by every append here and every notification (they filter by basin). */
  readonly #any = new Set<Wake>();
  #listener: pg.Client | undefined;
  /** The LISTEN connection being made, if any. */
  #client: pg.Client | undefined;
  #connecting: Promise<boolean> | undefined;
  /** The wake-up of the waiters after a failed attempt to LISTEN (see LISTEN_RETRY_MS). */
  #retry: NodeJS.Timeout | undefined;
  #closed = false;

  /** `pool`: for marking streams watched; the LISTEN connection is made with its `options`. */
  constructor(pool: pg.Pool, schema: string) {
    this.#pool = pool;
    this.#schema = schema;
  }

  /** Called after an append in this process committed. */
  appended(basin: string, stream: string): void {
    wakeAll(this.#byName.get(key(basin, stream)));
    if (this.#any.size > 0) wakeAll(this.#any);
  }

  /**
   * Subscribes to the next append anywhere: here, by notification (from a stream or basin marked watched),
   * a lost LISTEN connection or close. For basin-wide followers, which re-read and filter by basin.
   */
  subscribeAny(): { woken: Promise<void>; cancel(): void } {
    let wake!: Wake;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    const cancel = () => void this.#any.delete(once);
    const once = () => {
      cancel();
      wake();
    };
    this.#any.add(once);
    if (this.#closed) once();
    return { woken, cancel };
  }

  /** Makes sure this process LISTENs; false when it cannot (the caller then polls). */
  async listen(): Promise<boolean> {
    return !this.#closed && (await this.#listen());
  }

  /**
   * Subscribes to the next change of a stream: an append here, a notification, a lost LISTEN connection or
   * close. Call before re-reading the tail, then await `woken` if the read found nothing new.
   */
  subscribe(basin: string, stream: string): { woken: Promise<void>; cancel(): void } {
    const k = key(basin, stream);
    const id = this.#marked.get(k)?.id;
    let wake!: Wake;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    const cancel = () => {
      remove(this.#byName, k, once);
      if (id !== undefined) remove(this.#byId, id, once);
    };
    const once = () => {
      cancel();
      wake();
    };
    add(this.#byName, k, once);
    if (id !== undefined) add(this.#byId, id, once);
    if (this.#closed) once();
    return { woken, cancel };
  }

  /**
   * Makes sure notifications for this stream reach this process: LISTEN is on, and the stream is marked
   * watched (renewed every 20 s). Returns false when that failed (the caller then polls). Call `subscribe`
   * right after it returns: a LISTEN connection lost from then on wakes the subscription.
   */
  async prepare(basin: string, stream: string): Promise<boolean> {
    if (this.#closed || !(await this.#listen())) return false;
    const listener = this.#listener;
    if (!(await this.#mark(basin, stream))) return false;
    // Lost while the mark was being made, before the caller could subscribe: nothing would wake it.
    return this.#listener === listener || this.#listen();
  }

  async #mark(basin: string, stream: string): Promise<boolean> {
    const k = key(basin, stream);
    const mark = this.#marked.get(k);
    if (mark && Date.now() - mark.at < RENEW_AFTER_MS) return true;
    try {
      const result = await this.#pool.query<{ id: string }>({
        text: `update ${qualified(this.#schema, 'streams')}
               set watched_until = clock_timestamp() + make_interval(secs => $3)
               where basin = $1 and name = $2 returning id`,
        values: [basin, stream, WATCH_SECONDS],
      });
      const id = result.rows[0]?.id;
      if (id === undefined) return false;
      this.#marked.set(k, { id, at: Date.now() });
      if (this.#marked.size > MAX_MARKS) this.#forgetExpiredMarks();
      return true;
    } catch {
      return false;
    }
  }

  /** Marks older than a watch are expired in the database too; a process that followed many streams keeps none of them. */
  #forgetExpiredMarks(): void {
    const expired = Date.now() - WATCH_SECONDS * 1000;
    for (const [k, mark] of this.#marked) if (mark.at < expired) this.#marked.delete(k);
  }

  /** Wakes every waiter, and closes the LISTEN connection (or the one being made). */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#wakeEveryone();
    const listener = this.#listener;
    this.#listener = undefined;
    // A client still connecting is cut off at its socket: pg's end() then leaves its connect() waiting
    // forever when the server has not answered yet (seen with a server that accepts and stays silent).
    (
      this.#client as { connection?: { stream?: { destroy(): void } } } | undefined
    )?.connection?.stream?.destroy();
    await Promise.all([end(listener), this.#connecting]);
  }

  async #listen(): Promise<boolean> {
    if (this.#listener) return true;
    if (this.#closed) return false;
    this.#connecting ??= this.#connect().finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  async #connect(): Promise<boolean> {
    // Made as pg-pool makes its own clients: its Client class (`pool.Client`) and options; a connect that
    // hears nothing is given up after a while (the waiters poll meanwhile, and listen again later).
    const { Client = pg.Client } = this.#pool as { Client?: typeof pg.Client };
    const client = new Client({
      connectionTimeoutMillis: LISTEN_CONNECT_TIMEOUT_MS,
      ...this.#pool.options,
    });
    this.#client = client;
    client.on('notification', (message) => {
      // The payload: the ids of streams appended to (see notifier.ts), comma-separated.
      if (message.payload) for (const id of message.payload.split(',')) wakeAll(this.#byId.get(id));
      if (this.#any.size > 0) wakeAll(this.#any);
    });
    // Without a listener, an error on an idle connection would be an uncaught exception.
    client.on('error', () => this.#lost(client));
    client.on('end', () => this.#lost(client));
    try {
      await client.connect();
      await client.query(`listen "${notifyChannel(this.#schema)}"`);
    } catch {
      await end(client);
      this.#retrySoon();
      return false;
    } finally {
      this.#client = undefined;
    }
    if (this.#closed) {
      await end(client);
      return false;
    }
    this.#listener = client;
    return true;
  }

  /** Wakes every waiter LISTEN_RETRY_MS from now (once for any number of failures meanwhile). */
  #retrySoon(): void {
    if (this.#closed || this.#retry) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#wakeEveryone();
    }, LISTEN_RETRY_MS);
    this.#retry.unref();
  }

  #wakeEveryone(): void {
    for (const wakes of [...this.#byName.values()]) wakeAll(wakes);
    wakeAll(this.#any);
  }

  #lost(client: pg.Client): void {
    if (this.#listener !== client) return;
    this.#listener = undefined;
    void end(client);
    // Notifications may have been missed: every waiter re-reads, and the next wait listens again.
    this.#wakeEveryone();
  }
}

/** Closes a LISTEN connection (or the attempt to make one); never rejects. */
async function end(client: pg.Client | undefined): Promise<void> {
  await client?.end().catch(() => undefined);
}

function key(basin: string, stream: string): string {
  return `${basin}\u0000${stream}`;
}

function add(map: Map<string, Set<Wake>>, k: string, wake: Wake): void {
  let set = map.get(k);
  if (!set) map.set(k, (set = new Set()));
  set.add(wake);
}

function remove(map: Map<string, Set<Wake>>, k: string, wake: Wake): void {
  const set = map.get(k);
  if (set?.delete(wake) && set.size === 0) map.delete(k);
}

function wakeAll(wakes: Set<Wake> | undefined): void {
  if (wakes) for (const wake of [...wakes]) wake();
}
