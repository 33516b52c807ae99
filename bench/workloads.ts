/** The compared systems, the workloads, their sizes and their targets: the shared vocabulary of the bench. */

export const SYSTEMS = ['plain-pg', 'emmett', 'fencepost'] as const;
export type SystemName = (typeof SYSTEMS)[number];

/** The system every other one is divided by in the `vs plain-pg` column. */
export const BASELINE: SystemName = 'plain-pg';

/** Workloads run in rounds by the worker processes; `memory` runs once, in its own child process. */
export const ROUND_WORKLOADS = [
  'append-seq',
  'append-16',
  'append-batch',
  'race-8',
  'read-10k',
  'session',
  // Aggregates and commands (src/aggregates, src/commands).
  'load-10k',
  'snap-100',
  'snap-100k',
  'commands-16',
] as const;
export type RoundWorkload = (typeof ROUND_WORKLOADS)[number];
/** `global`: catch-up, live latency and the notify cost (bench/global.ts); `notify`: the notify cost alone. */
export const WORKLOADS = [...ROUND_WORKLOADS, 'memory', 'global', 'notify'] as const;
export type Workload = (typeof WORKLOADS)[number];

/** Sizes of every workload. One object per mode, sent to the workers with each run. */
export interface Params {
  appendSeq: { count: number };
  append16: { count: number; streams: number; concurrency: number };
  appendBatch: { batches: number; batchSize: number; passes: number };
  race: { writers: number; total: number };
  read: { records: number; passes: number; pageSize: number };
  session: { count: number };
  memory: { records: number; seedBatch: number };
  /** load-10k: load (read, decode, upcast, fold) one aggregate of `records` events, `passes` times. */
  load: { records: number; passes: number };
  /** snap-100 / snap-100k: `loads` loads of an aggregate of `small` / `large` events, snapshots every `every`. */
  snapshots: { small: number; large: number; every: number; loads: number };
  /** commands-16: `count` commands over `aggregates` aggregates, `concurrency` in flight (append-16's shape). */
  commands: { count: number; streams: number; concurrency: number };
  /** The global log (bench/global.ts): catch-up over `records`, live latency, notify cost. */
  global: {
    records: number;
    streams: number;
    rounds: number;
    liveRate: number;
    liveCount: number;
    notifyCount: number;
    notifyStreams: number;
    /**
     * Rounds of the notify cost (each a run without a follower and one with, in alternating order): its
     * per-round ratio swings far more than the cost it measures (0.71–1.33 in one full run of three rounds).
     */
    notifyRounds: number;
    /**
     * Also catch up with Emmett's consumer (seeding its own copy of the events), over the first
     * `emmettCount` of them: its reactor checkpoints every message, a few thousand a second here, so the
     * whole log would take minutes (see emmettCatchup in global-child.ts).
     */
    emmett: boolean;
    emmettCount: number;
  };
}

export const FULL_PARAMS: Params = {
  appendSeq: { count: 2_000 },
  append16: { count: 10_000, streams: 1_000, concurrency: 16 },
  // Five timed passes of the workload per round, each to a stream of its own: one pass of 100 batches takes
  // 60–150 ms, too short to time alone here (the per-round ratios of one run spread from 0.59 to 0.99 with one
  // pass). The rate is records appended / time of all passes, as for read-10k and load-10k.
  appendBatch: { batches: 100, batchSize: 100, passes: 5 },
  race: { writers: 8, total: 2_000 },
  // Six timed passes over the same stream per round: one 10k read takes tens of milliseconds, too short to
  // time alone on a noisy machine (with three passes, one system's rate moved by 1.6x between rounds). The
  // rate is records read / time of all passes. plain-pg reads in keyset pages of `pageSize`, the page
  // fencepost's readSession fetches (PAGE_RECORDS in src/log/read-session.ts).
  read: { records: 10_000, passes: 6, pageSize: 2_000 },
  session: { count: 10_000 },
  memory: { records: 1_000_000, seedBatch: 1_000 },
  load: { records: 10_000, passes: 6 },
  snapshots: { small: 100, large: 100_000, every: 100, loads: 20 },
  commands: { count: 10_000, streams: 1_000, concurrency: 16 },
  global: {
    records: 1_000_000,
    streams: 100,
    rounds: 3,
    liveRate: 1_000,
    liveCount: 10_000,
    notifyCount: 10_000,
    notifyStreams: 1_000,
    notifyRounds: 9,
    emmett: true,
    emmettCount: 20_000,
  },
};

/** `--quick`: small enough for CI, large enough that every code path runs. */
export const QUICK_PARAMS: Params = {
  appendSeq: { count: 200 },
  append16: { count: 1_000, streams: 100, concurrency: 16 },
  appendBatch: { batches: 10, batchSize: 100, passes: 1 },
  race: { writers: 8, total: 200 },
  read: { records: 2_000, passes: 1, pageSize: 2_000 },
  session: { count: 1_000 },
  memory: { records: 20_000, seedBatch: 1_000 },
  load: { records: 2_000, passes: 1 },
  snapshots: { small: 100, large: 5_000, every: 100, loads: 5 },
  commands: { count: 1_000, streams: 100, concurrency: 16 },
  global: {
    records: 20_000,
    streams: 20,
    rounds: 1,
    liveRate: 1_000,
    liveCount: 1_000,
    notifyCount: 1_000,
    notifyStreams: 100,
    notifyRounds: 1,
    emmett: true,
    emmettCount: 2_000,
  },
};

/** The untimed warm-up round before the measured ones (JIT, prepared statements, pools, caches). */
export const WARMUP_PARAMS: Params = QUICK_PARAMS;

export interface Target {
  /** fencepost rate / plain-pg rate must be at least this. */
  vsBaseline?: number;
  /** fencepost rate / emmett rate must be at least this. */
  vsEmmett?: number;
  /** fencepost rate / fencepost's own rate on {@link OWN_BASELINE}'s workload must be at least this. */
  vsOwn?: number;
}

export const EMMETT_TARGET = 1.7;

export const TARGETS: Record<Workload, Target> = {
  'append-seq': { vsBaseline: 0.65, vsEmmett: EMMETT_TARGET },
  'append-16': { vsBaseline: 0.6, vsEmmett: EMMETT_TARGET },
  'append-batch': { vsBaseline: 0.75, vsEmmett: EMMETT_TARGET },
  // Contention decides this one; plain-pg runs it for context only (no ratio, no target against it).
  'race-8': { vsEmmett: EMMETT_TARGET },
  'read-10k': { vsBaseline: 0.7, vsEmmett: EMMETT_TARGET },
  // Compared with fencepost's own append-seq per-record rate; the brief sets no threshold.
  session: {},
  memory: {},
  'load-10k': { vsBaseline: 0.5, vsEmmett: 2 },
  'snap-100': {},
  // Loads per second of a 100,000-event aggregate at least half those of a 100-event one: at most twice the time.
  'snap-100k': { vsOwn: 0.5 },
  'commands-16': { vsEmmett: 2, vsOwn: 0.6 },
  // Targets of the global workloads (catch-up ≥ 0.6 plain-pg, live p99 < 50 ms, notify cost ≥ 0.9): see global.ts.
  global: {},
  notify: {},
};

/** Workloads compared with another workload of fencepost's own (the `other` column). */
export const OWN_BASELINE: Partial<Record<Workload, RoundWorkload>> = {
  session: 'append-seq',
  'snap-100k': 'snap-100',
  'commands-16': 'append-16',
};

/** Workloads whose ratio against plain-pg means nothing (reported as n/a). */
export const NO_BASELINE_RATIO: ReadonlySet<Workload> = new Set<Workload>([
  'race-8',
  'session',
  'snap-100',
  'snap-100k',
  'commands-16',
]);

/** Peak resident memory allowed while reading and following the 1,000,000-record stream. */
export const MEMORY_LIMIT_MB = 200;

/** A ~100-byte JSON event body; the same bytes go to every system. */
export const BODY = JSON.stringify({
  orderId: 'ord-2024-000042',
  customerId: 'cust-4711',
  amount: 129.95,
  currency: 'EUR',
  items: 3,
});
export const EVENT_TYPE = 'OrderPlaced';
