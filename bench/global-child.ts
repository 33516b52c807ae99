/**
 * The global-log workloads' child processes (see global.ts). One role per process, so that every system
 * measured and every writer runs in a process of its own:
 *
 *   seed <url> <records> <streams>            appends the records (1,000 per append, 4 writers) to fp_global
 *   seed-emmett <url> <records> <streams>     the same events through Emmett's appendToStream (public schema)
 *   catchup <url> <system> <records>          reads them all: plain-pg (keyset SELECT over a copy of the
 *                                             rows keyed in global order), readAll, consumer,
 *                                             emmett (postgreSQLEventStoreConsumer with a reactor)
 *   live-follow <url> <system> <count>        follows (consumer or followAll) and measures append-to-handler
 *                                             latency of the next <count> records; says 'ready' when caught up
 *   live-write <url> <rate> <count>           appends <count> 1-record appends at <rate>/s, bodies timestamped
 *   notify-append <url> <count> <streams>     16 in flight 1-record appends to existing streams; reports the rate
 *   notify-follow <url>                       a basin-wide follower, until disconnected
 *   notify-listen <url>                       LISTENs and keeps the basin marked watched, reading nothing, until
 *                                             SIGTERM; reports the notifications it received since the bench's
 *                                             last `reset` message (sent after the untimed warm-up run)
 *   notify-poll <url>                         plain pg: a keyset SELECT of the newest records every 40 ms, until
 *                                             SIGTERM; reports what it read since the last `reset` message
 *
 * Each reports one JSON object over IPC.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { loadFencepost } from './library.js';
import { BODY, EVENT_TYPE } from './workloads.js';

export const GLOBAL_SCHEMA = 'fp_global';
const MB = 1024 * 1024;
const PAGE = 2000;
/** How often the plain-pg poller reads: as often as a busy fencepost follower (BUSY_POLL_MS, tail-waiter.ts). */
const POLL_MS = 40;

const fencepost = loadFencepost;
const connect = async (url: string, max = 4) =>
  (await fencepost()).EventLog.connect({
    connectionString: url,
    max,
    schema: GLOBAL_SCHEMA,
    sweepIntervalMs: 0,
  });

const now = (): number => performance.timeOrigin + performance.now();

/** Calls `reset` when the bench says the timed run begins (after the untimed warm-up, see global.ts). */
function onReset(reset: () => void): void {
  process.on('message', (message: { reset?: boolean }) => {
    if (message.reset) reset();
  });
}

/** Runs `writers` loops that take the next `step` of `total` items each turn and hand its offset to `write`. */
async function writeInParallel(
  writers: number,
  total: number,
  step: number,
  write: (offset: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (next < total) {
        const offset = next;
        next += step;
        await write(offset);
      }
    }),
  );
}

async function seed(url: string, total: number, streams: number): Promise<object> {
  const log = await connect(url, 4);
  const record = { body: BODY, headers: [['type', EVENT_TYPE]] as [string, string][] };
  const batch = Array.from({ length: 1000 }, () => record);
  const start = now();
  await writeInParallel(4, total, batch.length, (k) =>
    log.stream(`seed-${(k / batch.length) % streams}`).append(batch.slice(0, total - k)),
  );
  const ms = now() - start;
  // plain-pg's copy of the same rows, keyed in global order: fencepost's index holds one entry per append,
  // which a plain keyset SELECT cannot page by.
  await log.pool.query(`create table "${GLOBAL_SCHEMA}".plain_records as
    select commit_key, stream_id, seq_num, timestamp, headers_text, body from "${GLOBAL_SCHEMA}".records`);
  await log.pool.query(
    `alter table "${GLOBAL_SCHEMA}".plain_records add primary key (commit_key, stream_id, seq_num)`,
  );
  await log.close();
  return {
    ms: Math.round(ms),
    method: `fencepost append, 1,000 records per append, 4 writers, ${streams} streams`,
  };
}

async function seedEmmett(url: string, total: number, streams: number): Promise<object> {
  const { getPostgreSQLEventStore } = await import('@event-driven-io/emmett-postgresql');
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  const store = getPostgreSQLEventStore(url, { connectionOptions: { pool } });
  await store.schema.migrate();
  const event = { type: EVENT_TYPE, data: JSON.parse(BODY) as Record<string, unknown> };
  const batch = Array.from({ length: 1000 }, () => event);
  const start = now();
  await writeInParallel(4, total, batch.length, (k) =>
    store.appendToStream(`seed-${(k / batch.length) % streams}`, batch.slice(0, total - k)),
  );
  await store.close();
  await pool.end();
  return {
    ms: Math.round(now() - start),
    method: `Emmett appendToStream, 1,000 events per append, 4 writers`,
  };
}

/**
 * Emmett's consumer over the first `count` events, from the beginning: `postgreSQLEventStoreConsumer` with a
 * reactor whose no-op `eachMessage` stops it at `count`. Emmett 0.42's reactor has only `eachMessage`, and
 * stores its checkpoint after every message, so it runs a few thousand events a second here: the whole
 * 1,000,000 would take minutes, and its rate over a prefix is what the comparison needs.
 */
async function emmettCatchup(url: string, count: number): Promise<number> {
  const { postgreSQLEventStoreConsumer } = await import('@event-driven-io/emmett-postgresql');
  const consumer = postgreSQLEventStoreConsumer({
    connectionString: url,
    pulling: { batchSize: PAGE, pullingFrequencyInMs: 0 },
  });
  let n = 0;
  consumer.reactor({
    processorId: `bench-${process.pid}`,
    connectionOptions: { connectionString: url },
    startFrom: 'BEGINNING',
    eachMessage: () => {
      n++;
      return Promise.resolve(n >= count ? { type: 'STOP' as const } : undefined);
    },
  });
  await consumer.start();
  await consumer.close();
  if (n !== count) throw new Error(`Emmett's consumer handled ${n} of ${count} events`);
  return n;
}

async function withPeakRss(fn: () => Promise<number>): Promise<Record<string, number>> {
  global.gc?.();
  const before = process.memoryUsage.rss();
  const heapBefore = process.memoryUsage().heapUsed;
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 100);
  const start = now();
  const records = await fn();
  const ms = now() - start;
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage.rss());
  global.gc?.();
  const mb = (bytes: number) => Math.round((bytes / MB) * 10) / 10;
  // The heap after a GC at the end: what the read kept (a leak would grow it with the records read).
  return {
    ms: Math.round(ms),
    records,
    peakRssMb: mb(peak),
    rssBeforeMb: mb(before),
    heapBeforeMb: mb(heapBefore),
    heapAfterGcMb: mb(process.memoryUsage().heapUsed),
  };
}

async function catchup(url: string, system: string, total: number): Promise<object> {
  if (system === 'plain-pg') {
    const client = new pg.Client({ connectionString: url, options: '-c plan_cache_mode=force_generic_plan' });
    await client.connect();
    const text = `select commit_key::text as key, stream_id, seq_num, timestamp, headers_text, body from "${GLOBAL_SCHEMA}".plain_records
      where (commit_key, stream_id, seq_num) > ($1::xid8, $2::bigint, $3::bigint)
      order by commit_key, stream_id, seq_num limit ${PAGE}`;
    const result = await withPeakRss(async () => {
      let after: unknown[] = ['0', 0, -1];
      let n = 0;
      for (;;) {
        const { rows } = await client.query<unknown[]>({
          name: 'page',
          text,
          values: after,
          rowMode: 'array',
        });
        if (rows.length === 0) return n;
        n += rows.length;
        const last = rows[rows.length - 1]!;
        after = [last[0], last[1], last[2]];
      }
    });
    await client.end();
    return result;
  }
  if (system === 'emmett') return withPeakRss(() => emmettCatchup(url, total));
  const log = await connect(url, 4);
  let result;
  if (system === 'readAll') {
    result = await withPeakRss(async () => {
      let cursor: string | undefined;
      let n = 0;
      let chars = 0;
      for (;;) {
        const page = await log.readAll({ after: cursor, count: PAGE });
        if (page.records.length === 0) {
          if (chars !== n * BODY.length)
            throw new Error(`read ${chars} body characters, not ${n * BODY.length}`);
          return n;
        }
        n += page.records.length;
        for (const r of page.records) chars += r.body.length;
        cursor = page.cursor;
      }
    });
  } else {
    const name = `bench-${process.pid}`;
    result = await withPeakRss(async () => {
      let n = 0;
      const controller = new AbortController();
      await log.consumer(name, { batchSize: PAGE }).run(
        async (batch) => {
          n += batch.records.length;
          if (n >= total) controller.abort();
        },
        { signal: controller.signal },
      );
      return n;
    });
    await log.consumers.delete(name);
  }
  await log.close();
  return result;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

async function liveFollow(url: string, system: string, count: number): Promise<object> {
  const log = await connect(url, 4);
  const latencies: number[] = [];
  const controller = new AbortController();
  const take = (body: string) => {
    const { sent, warm } = JSON.parse(body) as { sent: number; warm?: boolean };
    if (warm) return;
    latencies.push(now() - sent);
    if (latencies.length >= count) controller.abort();
  };
  // Start at the end of the log (everything below the horizon counts as seen), then let the writer go.
  const name = `live-${process.pid}`;
  const end = await log.consumers.reset(name, { to: 'end' });
  process.send?.({ ready: true });
  const quiet = { signal: controller.signal, onStalled: () => undefined };
  if (system === 'consumer') {
    await log
      .consumer(name, { batchSize: 1000 })
      .run(async (batch) => batch.records.forEach((r) => take(r.body)), quiet);
  } else {
    for await (const r of log.followAll({ after: end, ...quiet })) take(r.body);
  }
  await log.consumers.delete(name);
  await log.close();
  latencies.sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    records: latencies.length,
    p50Ms: round(percentile(latencies, 50)),
    p99Ms: round(percentile(latencies, 99)),
    maxMs: round(latencies[latencies.length - 1] ?? 0),
  };
}

async function liveWrite(url: string, rate: number, count: number): Promise<object> {
  const log = await connect(url, 16);
  const streams = 100;
  const acks: number[] = [];
  // The first second is a warm-up, not counted here nor by the follower: it opens the pool's connections and
  // prepares both processes' statements, which made its first appends wait 150–170 ms (measured) and would
  // make the start-up, not the steady state, the p99.
  await appendAtRate(rate, rate, (sent, i) =>
    log.stream(`live-${i % streams}`).append([{ body: JSON.stringify({ sent, i, warm: true }) }]),
  );
  const start = now();
  await appendAtRate(rate, count, (sent, i) =>
    log
      .stream(`live-${i % streams}`)
      .append([{ body: JSON.stringify({ sent, i }) }])
      .then(() => acks.push(now() - sent)),
  );
  const ms = now() - start;
  await log.close();
  acks.sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 10) / 10;
  // The append's own latency (to its ack) is part of append-to-handler: reported beside it.
  return {
    appends: count,
    ms: Math.round(ms),
    achievedRate: Math.round((count / ms) * 1000),
    ackP50Ms: round(percentile(acks, 50)),
    ackP99Ms: round(percentile(acks, 99)),
  };
}

/** Calls `append` `count` times at `rate` per second, each at its due time whatever the others take. */
async function appendAtRate(
  rate: number,
  count: number,
  append: (sent: number, i: number) => Promise<unknown>,
): Promise<void> {
  const start = now();
  const inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    inFlight.push(append(now(), i));
    if (inFlight.length >= 64) await Promise.all(inFlight.splice(0));
  }
  await Promise.all(inFlight);
}

async function notifyAppend(url: string, count: number, streams: number): Promise<object> {
  const log = await connect(url, 16);
  // The streams exist already (created untimed), so every timed append takes the update path.
  await Promise.all(
    Array.from({ length: streams }, (_, s) =>
      log
        .stream(`n-${s}`)
        .append([{ body: BODY }])
        .catch(() => undefined),
    ),
  );
  const record = { body: BODY, headers: [['type', EVENT_TYPE]] as [string, string][] };
  const start = now();
  await writeInParallel(16, count, 1, (k) => log.stream(`n-${k % streams}`).append([record]));
  const ms = now() - start;
  await log.close();
  return { records: count, ms: Math.round(ms), rate: Math.round((count / ms) * 1000) };
}

async function notifyFollow(url: string): Promise<object> {
  const log = await connect(url, 2);
  const controller = new AbortController();
  process.on('disconnect', () => controller.abort());
  let n = 0;
  const end = await log.consumers.reset(`nf-${process.pid}`, { to: 'end' });
  await log.consumers.delete(`nf-${process.pid}`);
  const following = (async () => {
    for await (const r of log.followAll({
      after: end,
      signal: controller.signal,
      onStalled: () => undefined,
    })) {
      void r;
      n++;
    }
  })();
  // Ready once the basin is marked watched (the follower's first wait at the horizon).
  const check = new pg.Client({ connectionString: url });
  await check.connect();
  for (;;) {
    const { rows } = await check.query(
      `select 1 from "${GLOBAL_SCHEMA}".basin_watchers where watched_until > clock_timestamp()`,
    );
    if (rows.length > 0) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await check.end();
  process.send?.({ ready: true });
  await following;
  await log.close();
  return { followed: n };
}

/**
 * What an idle follower asks of appending processes, without the follower's reading: LISTEN on the log's
 * channel and the basin marked watched (a row in basin_watchers, renewed as src/subscriptions/basin-watch.ts
 * does), so that every appending process notifies after its appends. The notify cost with this process instead
 * of a follower is the cost of notifications on the append path alone.
 */
async function notifyListen(url: string): Promise<object> {
  const { notifyChannel } = (await import(
    new URL('../dist/src/log/statement-parts.js', import.meta.url).href
  )) as typeof import('../src/log/statement-parts.js');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  let notifications = 0;
  client.on('notification', () => notifications++);
  onReset(() => (notifications = 0));
  await client.query(`listen "${notifyChannel(GLOBAL_SCHEMA)}"`);
  const watcher = randomUUID();
  const mark = () =>
    client.query(
      `insert into "${GLOBAL_SCHEMA}".basin_watchers (basin, watcher, watched_until)
       select name, $1, clock_timestamp() + interval '1 second' from "${GLOBAL_SCHEMA}".basins
       on conflict (basin, watcher) do update set watched_until = excluded.watched_until`,
      [watcher],
    );
  await mark();
  const timer = setInterval(() => void mark().catch(() => undefined), 400);
  process.send?.({ ready: true });
  await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
  clearInterval(timer);
  await client.end();
  return { notifications };
}

/**
 * The least reading a follower in another process can do, in plain pg: from the newest record on, one keyset
 * `SELECT` of the next records (up to 2,000) in the global index's order every 40 ms from the start of the
 * last, as a busy fencepost follower reads, each row's fields made into strings and numbers. It has no horizon
 * (a record committed late behind its position is skipped), no stream names and no cursor. It pages by the
 * global index, which holds an append's first record only: it reads every record because every append of the
 * notify cost has one (a multi-record append's other records would be missed). The notify cost
 * with this process instead of a fencepost follower is what reading the appended records costs the appending
 * process at all.
 */
async function notifyPoll(url: string): Promise<object> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const types = { getTypeParser: (oid: number) => (oid === 20 ? Number : (value: string) => value) };
  const records = `"${GLOBAL_SCHEMA}".records`;
  const {
    rows: [newest],
  } = await client.query<[string, number, number]>({
    // Named `key`: an output column named `commit_key` (the text) would be what `order by commit_key` sorts by.
    text: `select commit_key::text as key, stream_id, seq_num from ${records} where span is not null
      order by commit_key desc, stream_id desc, seq_num desc limit 1`,
    rowMode: 'array',
    types,
  });
  let after: unknown[] = newest ?? ['0', 0, -1];
  const next: pg.QueryConfig = {
    name: 'notify_poll',
    text: `select r.commit_key::text, r.stream_id, r.seq_num, r.timestamp, r.headers_text,
        convert_from(r.body, 'UTF8')
      from ${records} r
      where r.span is not null and (r.commit_key, r.stream_id, r.seq_num) > ($1::xid8, $2::bigint, $3::bigint)
      order by r.commit_key, r.stream_id, r.seq_num limit ${PAGE}`,
  };
  let stopped = false;
  process.once('SIGTERM', () => (stopped = true));
  process.send?.({ ready: true });
  let read = 0;
  let reads = 0;
  onReset(() => (read = reads = 0));
  while (!stopped) {
    const started = performance.now();
    const { rows } = await client.query<unknown[]>({ ...next, values: after, rowMode: 'array', types });
    reads++;
    read += rows.length;
    const last = rows.at(-1);
    if (last) after = last.slice(0, 3);
    const wait = POLL_MS - (performance.now() - started);
    if (rows.length < PAGE && wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  await client.end();
  return { read, reads };
}

async function main(): Promise<object> {
  const [role, url, a, b] = process.argv.slice(2) as [string, string, string, string];
  switch (role) {
    case 'seed':
      return seed(url, Number(a), Number(b));
    case 'seed-emmett':
      return seedEmmett(url, Number(a), Number(b));
    case 'catchup':
      return catchup(url, a, Number(b));
    case 'live-follow':
      return liveFollow(url, a, Number(b));
    case 'live-write':
      return liveWrite(url, Number(a), Number(b));
    case 'notify-append':
      return notifyAppend(url, Number(a), Number(b));
    case 'notify-follow':
      return notifyFollow(url);
    case 'notify-listen':
      return notifyListen(url);
    case 'notify-poll':
      return notifyPoll(url);
    default:
      throw new Error(`unknown role ${role}`);
  }
}

main().then(
  (result) => {
    process.send?.({ result });
    process.disconnect?.();
  },
  (error: unknown) => {
    process.send?.({ error: error instanceof Error ? error.message : String(error) });
    process.exitCode = 1;
    process.disconnect?.();
  },
);
