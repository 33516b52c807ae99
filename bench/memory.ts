/**
 * Memory: reading and following a long stream must not hold it in memory. Two child processes, run by main.ts
 * one after the other (see runMemoryChild in processes.ts):
 *
 *   tsx bench/memory.ts seed <connection string> <records> <batch>   appends the records with fencepost's own
 *                                                                    append, <batch> records per append
 *   tsx bench/memory.ts measure <connection string> <records>        iterates readSession to the end, then follow
 *                                                                    up to the last record (then aborts),
 *                                                                    sampling the RSS every 100 ms
 *
 * Seeding runs in a process of its own so that the measuring process's RSS holds nothing of it. Each reports
 * over IPC (or prints JSON when run by hand).
 */
import { loadFencepost } from './library.js';
import { BODY, EVENT_TYPE } from './workloads.js';

const SCHEMA = 'fp_mem';
const streamName = (records: number): string => `memory-${records}`;

export interface SeedReport {
  ms: number;
  method: string;
}

export interface MeasureReport {
  /** RSS when the process started, before fencepost (and tsx's transpiling of it) was loaded. */
  rssStartMb: number;
  /** RSS after connecting and a GC, before the first read. */
  rssBaselineMb: number;
  read: { peakRssMb: number; ms: number; records: number };
  follow: { peakRssMb: number; ms: number; records: number };
}

const MB = 1024 * 1024;
const rssStart = process.memoryUsage.rss();

const fencepost = loadFencepost;

async function seed(connectionString: string, total: number, batchSize: number): Promise<SeedReport> {
  const { EventLog } = await fencepost();
  const log = await EventLog.connect({ connectionString, max: 2, schema: SCHEMA });
  try {
    const stream = log.stream(streamName(total));
    const record = { body: BODY, headers: [['type', EVENT_TYPE]] as [string, string][] };
    const batch = Array.from({ length: batchSize }, () => record);
    const start = performance.now();
    for (let seq = 0; seq < total; seq += batchSize) {
      await stream.append(batch.slice(0, total - seq), { matchSeqNum: seq });
    }
    return {
      ms: Math.round(performance.now() - start),
      method: `fencepost append, ${batchSize} records per append`,
    };
  } finally {
    await log.close();
  }
}

/** Peak RSS while `fn` runs, sampled every 100 ms (and at both ends). */
async function peakRss(
  fn: () => Promise<number>,
): Promise<{ peakRssMb: number; ms: number; records: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 100);
  const start = performance.now();
  try {
    const records = await fn();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { peakRssMb: round1(peak / MB), ms: Math.round(performance.now() - start), records };
  } finally {
    clearInterval(timer);
  }
}

const collect = (): void => (globalThis as { gc?: () => void }).gc?.();

async function measure(connectionString: string, total: number): Promise<MeasureReport> {
  const { EventLog } = await fencepost();
  const log = await EventLog.connect({ connectionString, max: 4, schema: SCHEMA, migrate: false });
  try {
    const stream = log.stream(streamName(total));
    if ((await stream.checkTail()).seqNum !== total)
      throw new Error(`the seeded stream does not hold ${total} records`);
    collect();
    const rssBaselineMb = round1(process.memoryUsage.rss() / MB);

    const read = await peakRss(async () => {
      let next = 0;
      for await (const r of stream.readSession({ seqNum: 0 })) {
        if (r.seqNum !== next) throw new Error(`readSession gave seqNum ${r.seqNum}, expected ${next}`);
        next++;
      }
      if (next !== total) throw new Error(`readSession ended after ${next} of ${total} records`);
      return next;
    });

    collect();
    const follow = await peakRss(async () => {
      const abort = new AbortController();
      let next = 0;
      // follow never ends by itself: a guard aborts it if records stop coming before the last one.
      let seen = -1;
      const guard = setInterval(() => {
        if (next === seen) abort.abort(new Error(`follow stalled at ${next} of ${total} records`));
        seen = next;
      }, 30_000);
      try {
        for await (const r of stream.follow({ seqNum: 0, signal: abort.signal })) {
          if (r.seqNum !== next) throw new Error(`follow gave seqNum ${r.seqNum}, expected ${next}`);
          next++;
          if (next === total) {
            abort.abort();
            break;
          }
        }
      } finally {
        clearInterval(guard);
      }
      if (next !== total) throw new Error(`follow ended after ${next} of ${total} records`);
      return next;
    });

    return { rssStartMb: round1(rssStart / MB), rssBaselineMb, read, follow };
  } finally {
    await log.close();
  }
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

async function main(): Promise<SeedReport | MeasureReport> {
  const [mode, connectionString, records, batch] = process.argv.slice(2);
  const total = Number(records);
  if (!connectionString || !Number.isInteger(total) || total < 1) {
    throw new Error('usage: tsx bench/memory.ts seed|measure <connection string> <records> [batch]');
  }
  if (mode === 'seed') return seed(connectionString, total, Number(batch ?? 1000));
  if (mode === 'measure') return measure(connectionString, total);
  throw new Error(`unknown mode ${mode}`);
}

main().then(
  (result) => {
    if (process.send) process.send(result, () => process.exit(0));
    else console.log(JSON.stringify(result, null, 2));
  },
  (error: unknown) => {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    if (process.send) process.send({ error: message }, () => process.exit(1));
    else {
      console.error(error);
      process.exit(1);
    }
  },
);
