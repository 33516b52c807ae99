/** The interface every compared system implements, and the helpers their workload methods share. */
import type { Params, SystemName } from '../workloads.js';

/** What one timed workload run measured. `records / ms` is its rate; setup and checks are not timed. */
export interface Measurement {
  records: number;
  ms: number;
  /** race-8: appends that failed their condition and were retried. */
  conflicts?: number;
}

/** Per run: a prefix unique to the run, so that no two runs share a stream name. */
export interface RunContext {
  prefix: string;
}

export interface SystemOptions {
  connectionString: string;
  /** Pool size; 16 so that 16 appends can be in flight. */
  poolSize: number;
}

/**
 * How long every system's pool keeps an idle connection (ms): fencepost's default. pg's own default (10 s)
 * closed the connections of each system between its runs, so every 16-in-flight run began by opening 15
 * connections again, each with its backend start and the warm-up of its tables and statements.
 */
export const IDLE_TIMEOUT_MS = 300_000;

/**
 * One method per workload. Each method prepares what it needs (untimed), times the workload itself, checks the
 * result (untimed) and returns the measurement. A missing method means the system has no equivalent (n/a).
 */
export interface BenchSystem {
  readonly name: SystemName;
  /** Facts about how this system runs the workloads, for the JSON report. */
  readonly notes: Record<string, string>;
  /** Untimed, before every run: empty this system's tables so that every round starts from the same state. */
  reset(): Promise<void>;
  appendSeq(p: Params['appendSeq'], ctx: RunContext): Promise<Measurement>;
  append16(p: Params['append16'], ctx: RunContext): Promise<Measurement>;
  appendBatch(p: Params['appendBatch'], ctx: RunContext): Promise<Measurement>;
  race8(p: Params['race'], ctx: RunContext): Promise<Measurement>;
  read10k(p: Params['read'], ctx: RunContext): Promise<Measurement>;
  session?(p: Params['session'], ctx: RunContext): Promise<Measurement>;
  load10k?(p: Params['load'], ctx: RunContext): Promise<Measurement>;
  snap100?(p: Params['snapshots'], ctx: RunContext): Promise<Measurement>;
  snap100k?(p: Params['snapshots'], ctx: RunContext): Promise<Measurement>;
  commands16?(p: Params['commands'], ctx: RunContext): Promise<Measurement>;
  close(): Promise<void>;
}

export type SystemFactory = (options: SystemOptions) => Promise<BenchSystem>;

/** Milliseconds `fn` took, from a monotonic clock. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, value };
}

/** Runs `task(0) … task(total - 1)` with at most `concurrency` in flight; the first failure rejects. */
export async function runPool(
  total: number,
  concurrency: number,
  task: (k: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (!failed && next < total) {
      const k = next++;
      try {
        await task(k);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, lane));
}

/**
 * append-16: `count` appends spread round-robin over `streams` streams (op k goes to stream k % streams, as its
 * floor(k / streams)-th append), `concurrency` in flight. An op waits for the previous op on its stream, so each
 * append's expected version is exact; with 1,000 streams and 16 in flight it practically never has to wait.
 */
export async function spreadAppends(
  p: Params['append16'],
  append: (stream: number, version: number) => Promise<void>,
): Promise<void> {
  const previous = new Map<number, Promise<void>>();
  await runPool(p.count, p.concurrency, async (k) => {
    const stream = k % p.streams;
    const before = previous.get(stream);
    const op = (async () => {
      if (before) await before;
      await append(stream, Math.floor(k / p.streams));
    })();
    previous.set(stream, op);
    await op;
  });
}

/**
 * race-8: `writers` writers share one stream until `total` records are written. Each record is claimed before
 * its first attempt, so exactly `total` are written; `attempt` returns false when its condition failed (a
 * conflict), and the writer then tries again (re-reading the tail is the attempt's business).
 */
export async function race(
  p: Params['race'],
  attempt: (writer: number) => Promise<boolean>,
): Promise<number> {
  let claimed = 0;
  let conflicts = 0;
  const writer = async (w: number): Promise<void> => {
    while (claimed < p.total) {
      claimed++;
      while (!(await attempt(w))) conflicts++;
    }
  };
  await Promise.all(Array.from({ length: p.writers }, (_, w) => writer(w)));
  return conflicts;
}

/** Throws unless `actual` equals `expected`: every workload checks what it wrote or read. */
export function check(what: string, actual: unknown, expected: unknown): void {
  if (actual !== expected) {
    throw new Error(`check failed: ${what}: expected ${String(expected)}, got ${String(actual)}`);
  }
}
