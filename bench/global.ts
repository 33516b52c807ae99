/**
 * The global log's workloads (`--only global`), each system and writer in a child process of its own
 * (global-child.ts), in interleaved rounds:
 *
 * - catch-up: the seeded records read end to end by a plain keyset-paginated SELECT over the same rows (the
 *   baseline), by `readAll` pages and by a consumer with a no-op handler; rate and peak RSS of each;
 * - live: a consumer (and a followAll) in one process while another appends at a fixed rate: the latency
 *   from the append's start to the handler, p50 and p99;
 * - notify cost: 16-in-flight appends with no follower and with a basin-wide follower in another process (each
 *   timed run after an untimed one of the same appends, so the follower has warmed up as a long-running one); with
 *   a process that only listens and keeps the basin marked watched (whose mark makes the appending process
 *   notify after its appends commit: the cost of the notifications alone); and with a plain-pg keyset poller
 *   instead of the follower (the least reading of the records a follower can do: the cost of reading at all).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { GLOBAL_SCHEMA } from './global-child.js';
import type { Params } from './workloads.js';

const TSX = import.meta.resolve('tsx');
const CHILD = fileURLToPath(new URL('./global-child.ts', import.meta.url));

interface Child {
  ready: Promise<void>;
  result: Promise<Record<string, number>>;
  process: ChildProcess;
}

function spawn(args: string[], timeoutMs: number): Child {
  const child = fork(CHILD, args, {
    execArgv: ['--import', TSX, '--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const result = new Promise<Record<string, number>>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`global-child ${args[0]} did not finish within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    let answer: { result?: Record<string, number>; error?: string } | undefined;
    child.on('message', (m: { ready?: boolean; result?: Record<string, number>; error?: string }) => {
      if (m.ready) onReady();
      else answer = m;
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      onReady();
      if (answer?.result) resolve(answer.result);
      else
        reject(
          new Error(`global-child ${args[0]}: ${answer?.error ?? `exited (${signal ?? `code ${code}`})`}`),
        );
    });
  });
  return { ready, result, process: child };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? NaN
    : s.length % 2
      ? s[(s.length - 1) / 2]!
      : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** The median of `a[i] / b[i]`: rates of the same round paired. */
const medianOfRatios = (a: number[], b: number[]): number => median(a.map((x, i) => x / b[i]!));
const round2 = (x: number): number => Math.round(x * 100) / 100;

export interface GlobalResult {
  records: number;
  /** How many events Emmett's consumer ran over, when it ran. */
  emmettCount?: number;
  seed: Record<string, number | string | object>;
  /**
   * Per system: its rate in each round, their median, and `ratio`, the median of its per-round ratios to
   * plain-pg (the systems run back to back in each round; see Ratio in harness.ts), beside `ofMedians`.
   */
  catchUp: Record<
    string,
    {
      rates: number[];
      median: number;
      peakRssMb: number;
      heapAfterGcMb: number;
      ratio: number;
      ofMedians: number;
    }
  >;
  live: Record<string, Record<string, number>>;
  /**
   * Rates per round without a follower, with one, with a listener that reads nothing (`listen`, and the
   * notifications it heard), and with a plain-pg poller instead of the follower (`poll`, and the records it
   * read); `ratio`, `listenRatio` and `pollRatio`: the medians of the per-round ratios to `without`;
   * `vsPoll`: of the per-round ratios of `with` to `poll`.
   */
  notify: {
    without: number[];
    with: number[];
    listen: number[];
    poll: number[];
    notifications: number[];
    polled: number[];
    ratio: number;
    ofMedians: number;
    listenRatio: number;
    pollRatio: number;
    vsPoll: number;
  };
  error?: string;
}

/** Runs the global workloads; never throws (a failure is reported in `error`). */
export async function runGlobal(
  url: string,
  p: Params['global'],
  log: (line: string) => void,
  parts: { catchUpAndLive: boolean; notify: boolean } = { catchUpAndLive: true, notify: true },
): Promise<GlobalResult> {
  const result: GlobalResult = {
    records: p.records,
    seed: {},
    catchUp: {},
    live: {},
    notify: {
      without: [],
      with: [],
      listen: [],
      poll: [],
      notifications: [],
      polled: [],
      ratio: NaN,
      ofMedians: NaN,
      listenRatio: NaN,
      pollRatio: NaN,
      vsPoll: NaN,
    },
  };
  const timeout = 900_000;
  try {
    if (parts.catchUpAndLive) {
      log(`global: seeding ${p.records.toLocaleString('en-US')} records`);
      result.seed = await spawn(['seed', url, String(p.records), String(p.streams)], timeout).result;

      const systems = ['plain-pg', 'readAll', 'consumer'];
      if (p.emmett) {
        log(`global: seeding ${p.records.toLocaleString('en-US')} events into Emmett`);
        result.seed.emmett = (
          await spawn(['seed-emmett', url, String(p.records), String(p.streams)], timeout).result
        ).ms!;
        systems.push('emmett');
        result.emmettCount = Math.min(p.emmettCount, p.records);
      }
      // Untimed: hint bits, visibility map and statistics for every system alike (the first reader of fresh
      // rows would otherwise pay for setting the hint bits).
      const vacuum = new pg.Client({ connectionString: url });
      await vacuum.connect();
      await vacuum.query('vacuum (analyze)').finally(() => vacuum.end());
      const rates: Record<string, number[]> = Object.fromEntries(systems.map((s) => [s, []]));
      const peaks: Record<string, number> = {};
      const heaps: Record<string, number> = {};
      for (let round = 0; round < p.rounds; round++) {
        const order = systems.map((_, i) => systems[(i + round) % systems.length]!);
        for (const system of order) {
          const expected = system === 'emmett' ? result.emmettCount! : p.records;
          const r = await spawn(['catchup', url, system, String(expected)], timeout).result;
          if (r.records !== expected)
            throw new Error(`catch-up ${system} read ${r.records} of ${expected} records`);
          rates[system]!.push((r.records! / r.ms!) * 1000);
          peaks[system] = Math.max(peaks[system] ?? 0, r.peakRssMb!);
          heaps[system] = Math.max(heaps[system] ?? 0, r.heapAfterGcMb!);
          log(
            `global round ${round + 1}/${p.rounds}  catch-up ${system.padEnd(9)} ${Math.round((r.records! / r.ms!) * 1000).toLocaleString('en-US')} records/s, peak RSS ${r.peakRssMb} MB`,
          );
        }
      }
      const base = rates['plain-pg']!;
      for (const s of systems) {
        result.catchUp[s] = {
          rates: rates[s]!.map(Math.round),
          median: Math.round(median(rates[s]!)),
          peakRssMb: peaks[s]!,
          heapAfterGcMb: heaps[s]!,
          ratio: round2(medianOfRatios(rates[s]!, base)),
          ofMedians: round2(median(rates[s]!) / median(base)),
        };
      }

      for (const system of ['consumer', 'followAll']) {
        const follower = spawn(['live-follow', url, system, String(p.liveCount)], timeout);
        await follower.ready;
        const writer = spawn(['live-write', url, String(p.liveRate), String(p.liveCount)], timeout);
        const [latency, written] = await Promise.all([follower.result, writer.result]);
        result.live[system] = {
          ...latency,
          ...Object.fromEntries(Object.entries(written).map(([k, v]) => [`writer.${k}`, v])),
        };
        log(
          `global live ${system}: p50 ${latency.p50Ms} ms, p99 ${latency.p99Ms} ms at ${written.achievedRate} appends/s`,
        );
      }
    }

    if (parts.notify) await notifyCost(url, p, result, log, timeout);
  } catch (error) {
    result.error = (error as Error).message;
    log(`global: ERROR ${result.error}`);
  }
  return result;
}

/** The child role of each notify-cost mode but `without` (see global-child.ts). */
const NOTIFY_ROLES = { with: 'notify-follow', listen: 'notify-listen', poll: 'notify-poll' } as const;

/**
 * The notify cost's rounds: without a follower, with one, with a listener that reads nothing, and with a
 * plain-pg poller instead of the follower.
 */
async function notifyCost(
  url: string,
  p: Params['global'],
  result: GlobalResult,
  log: (line: string) => void,
  timeout: number,
): Promise<void> {
  /** One run of the appends in a process of its own: `count` 16-in-flight appends over the notify streams. */
  const appendRun = (count: number) =>
    spawn(['notify-append', url, String(count), String(p.notifyStreams)], timeout).result;
  // Untimed: the schema and the streams, when the notify cost runs alone.
  await appendRun(0);
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    for (let round = 0; round < p.notifyRounds; round++) {
      const modes = ['without', 'with', 'listen', 'poll'] as const;
      for (const mode of modes.map((_, i) => modes[(i + round) % modes.length]!)) {
        await admin.query(`delete from "${GLOBAL_SCHEMA}".basin_watchers`);
        let other: Child | undefined;
        if (mode !== 'without') {
          other = spawn([NOTIFY_ROLES[mode], url], timeout);
          await other.ready;
        }
        // Untimed, in every mode: a run of the same appends first, so that the follower (or the listener, or
        // the poller) is measured as it runs for hours, not in its first seconds, while its code is still being
        // compiled: a fresh follower's process took 170 ms of CPU over its first 10,000 appends, a warmed one
        // 100 ms (bench/FINDINGS.md, stop 20). Without a follower it keeps the database's history the same as
        // in the other modes.
        await appendRun(p.notifyCount);
        other?.process.send({ reset: true });
        const r = await appendRun(p.notifyCount);
        let heard = '';
        if (mode === 'listen' || mode === 'poll') {
          other!.process.kill('SIGTERM');
          const { notifications, read } = await other!.result;
          if (mode === 'listen') {
            result.notify.notifications.push(notifications!);
            heard = `, ${notifications} notifications heard`;
          } else {
            result.notify.polled.push(read!);
            heard = `, ${read} records polled`;
          }
        } else {
          other?.process.kill('SIGKILL');
          await other?.result.catch(() => undefined);
        }
        result.notify[mode].push(r.rate!);
        log(
          `global round ${round + 1}/${p.notifyRounds}  notify-cost ${mode.padEnd(7)} ${r.rate!.toLocaleString('en-US')} appends/s${heard}`,
        );
      }
    }
    await admin.query(`delete from "${GLOBAL_SCHEMA}".basin_watchers`);
  } finally {
    await admin.end();
  }
  const { notify } = result;
  notify.ratio = round2(medianOfRatios(notify.with, notify.without));
  notify.ofMedians = round2(median(notify.with) / median(notify.without));
  notify.listenRatio = round2(medianOfRatios(notify.listen, notify.without));
  notify.pollRatio = round2(medianOfRatios(notify.poll, notify.without));
  notify.vsPoll = round2(medianOfRatios(notify.with, notify.poll));
}

/** The global workloads' lines of the bench table. */
export function formatGlobal(r: GlobalResult): string {
  const lines = [
    Object.keys(r.catchUp).length > 0
      ? `global log (${r.records.toLocaleString('en-US')} records)`
      : 'global log (the notify cost alone)',
  ];
  const emmett = r.catchUp.emmett?.median;
  for (const [system, c] of Object.entries(r.catchUp)) {
    const vsEmmett =
      emmett !== undefined && system === 'consumer' ? `  ${(c.median / emmett).toFixed(2)}x emmett` : '';
    const prefix = system === 'emmett' ? ` (its first ${r.emmettCount?.toLocaleString('en-US')} events)` : '';
    lines.push(
      `  catch-up ${system.padEnd(9)} ${c.median.toLocaleString('en-US').padStart(10)} records/s  ${c.ratio.toFixed(2)}x plain-pg (${c.ofMedians.toFixed(2)})${vsEmmett}  peak RSS ${c.peakRssMb} MB, heap after GC ${c.heapAfterGcMb} MB${prefix}`,
    );
  }
  for (const [system, l] of Object.entries(r.live)) {
    lines.push(
      `  live ${system.padEnd(9)} append-to-handler p50 ${l.p50Ms} ms, p99 ${l.p99Ms} ms, max ${l.maxMs} ms at ${l['writer.achievedRate']} appends/s (the appends' own ack p50 ${l['writer.ackP50Ms']} ms, p99 ${l['writer.ackP99Ms']} ms)`,
    );
  }
  if (r.notify.without.length > 0) {
    lines.push(
      `  notify cost: ${Math.round(median(r.notify.with)).toLocaleString('en-US')} appends/s with a basin follower, ${Math.round(median(r.notify.without)).toLocaleString('en-US')} without: ${r.notify.ratio.toFixed(2)}x (${r.notify.ofMedians.toFixed(2)})`,
      `  notifications alone: ${Math.round(median(r.notify.listen)).toLocaleString('en-US')} appends/s with a process listening and the basin marked, reading nothing: ${r.notify.listenRatio.toFixed(2)}x (${Math.round(median(r.notify.notifications)).toLocaleString('en-US')} notifications heard a run)`,
      `  reading alone: ${Math.round(median(r.notify.poll)).toLocaleString('en-US')} appends/s with a plain-pg keyset poller (every 40 ms) instead of the follower: ${r.notify.pollRatio.toFixed(2)}x (${Math.round(median(r.notify.polled)).toLocaleString('en-US')} records read a run); the follower ${r.notify.vsPoll.toFixed(2)}x of it`,
    );
  }
  if (r.error) lines.push(`  ERROR ${r.error}`);
  return lines.join('\n');
}
