/**
 * `npm run bench`: compares fencepost with plain Postgres (the physical limit) and Emmett, interleaved.
 *
 *   npm run bench -- [--quick] [--rounds N] [--only WORKLOAD[,…]] [--systems SYSTEM[,…]]
 *
 * Each system runs in a worker process of its own (see worker.ts for why); this process creates a fresh
 * database, runs the rounds, prints the table, writes bench/results/<timestamp>.json and drops the database.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createBenchDatabase, DEFAULT_DATABASE_URL, type BenchDatabase } from './db.js';
import {
  formatTable,
  runRounds,
  summarize,
  writeReport,
  type MemoryResult,
  type RunRecord,
} from './harness.js';
import { runMemory, SystemProcess } from './processes.js';
import { formatGlobal, runGlobal, type GlobalResult } from './global.js';
import {
  FULL_PARAMS,
  MEMORY_LIMIT_MB,
  QUICK_PARAMS,
  ROUND_WORKLOADS,
  SYSTEMS,
  TARGETS,
  WARMUP_PARAMS,
  WORKLOADS,
  type RoundWorkload,
  type SystemName,
  type Workload,
} from './workloads.js';

const USAGE = `usage: npm run bench -- [options]

  --quick              small counts, ${QUICK_PARAMS.memory.records.toLocaleString('en-US')}-record memory run, 2 rounds, no warm-up, no target checks (CI)
  --rounds N           measured rounds (default 7; at least 3 unless --quick)
  --only W[,W…]        workloads: ${WORKLOADS.join(', ')}
  --systems S[,S…]     systems: ${SYSTEMS.join(', ')} (default: all)
  --help

DATABASE_URL names the server (default ${DEFAULT_DATABASE_URL}); the bench creates and drops a database of its own.`;

interface Options {
  quick: boolean;
  rounds: number;
  workloads: Workload[];
  systems: SystemName[];
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      only: { type: 'string' },
      systems: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const list = <T extends string>(value: string | undefined, all: readonly T[], what: string): T[] => {
    if (value === undefined) return [...all];
    const items = value.split(',').map((s) => s.trim());
    const unknown = items.filter((s) => !(all as readonly string[]).includes(s));
    if (unknown.length > 0) throw new UsageError(`unknown ${what}: ${unknown.join(', ')}`);
    return all.filter((a) => items.includes(a)); // Canonical order.
  };
  const quick = values.quick;
  const rounds = values.rounds === undefined ? (quick ? 2 : 7) : Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new UsageError('--rounds wants a positive integer');
  if (!quick && rounds < 3) throw new UsageError('--rounds must be at least 3 (medians of fewer say little)');
  return {
    quick,
    rounds,
    workloads: list(values.only, WORKLOADS, 'workload'),
    systems: list(values.systems, SYSTEMS, 'system'),
  };
}

class UsageError extends Error {}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const log = (line: string): void => void process.stderr.write(`${line}\n`);

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const params = options.quick ? QUICK_PARAMS : FULL_PARAMS;
  const roundWorkloads = ROUND_WORKLOADS.filter((w) => options.workloads.includes(w));
  const startedAt = new Date();
  const loadStart = os.loadavg();
  const errors: string[] = [];
  const runTimeoutMs = options.quick ? 60_000 : 300_000;

  const db: BenchDatabase = await createBenchDatabase(process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL);
  log(`database ${db.name}; ${options.quick ? 'quick' : 'full'} mode, ${options.rounds} round(s)`);
  const workers = new Map<SystemName, SystemProcess>();
  const cleanup = async (): Promise<void> => {
    await Promise.all([...workers.values()].map((w) => w.close()));
    await db.drop();
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    log(`${signal}: stopping, dropping ${db.name}`);
    for (const w of workers.values()) w.kill();
    void db.drop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    // Workers start (connect, migrate) side by side; a system that cannot start is reported and left out.
    const started = await Promise.allSettled(
      options.systems.map((name) =>
        SystemProcess.start(name, { connectionString: db.url, poolSize: 16 }, 120_000).then((w) => {
          workers.set(name, w);
          return w;
        }),
      ),
    );
    for (const [i, result] of started.entries()) {
      if (result.status === 'rejected') {
        const message = `${options.systems[i]}: could not start: ${(result.reason as Error).message}`;
        errors.push(message);
        log(message);
      }
    }
    const systems = options.systems.filter((s) => workers.has(s));

    // Outside --quick, each measured run follows an untimed run of the same workload by the same system, so that
    // no system is timed just after idling while the others ran (see "How it measures" in bench/README.md).
    const paired = !options.quick;
    const runOne = async (round: number, workload: RoundWorkload, system: SystemName, p = params) => {
      const worker = workers.get(system);
      if (!worker?.alive) return undefined;
      if (!worker.workloads.includes(workload)) return null;
      if (paired && round > 0) await worker.run(workload, p, { prefix: `r${round}-untimed` }, runTimeoutMs);
      await db.checkpoint();
      return worker.run(workload, p, { prefix: `r${round}` }, runTimeoutMs);
    };

    if (!options.quick && roundWorkloads.length > 0) {
      log('warm-up round (not measured)');
      await runRounds({
        rounds: 1,
        workloads: roundWorkloads,
        systems,
        run: (_round, workload, system) => runOne(0, workload, system, WARMUP_PARAMS),
        onRecord: (r) => r.error && log(`  warm-up ${r.workload} ${r.system}: ERROR ${r.error}`),
      });
    }

    const runs: RunRecord[] = await runRounds({
      rounds: options.rounds,
      workloads: roundWorkloads,
      systems,
      run: runOne,
      onRecord: (r, { rounds }) =>
        log(
          `round ${r.round}/${rounds}  ${r.workload.padEnd(12)} ${r.system.padEnd(9)} ` +
            (r.error
              ? `ERROR ${r.error}`
              : `${fmt(r.rate ?? 0).padStart(8)} records/s` +
                (r.conflicts === undefined ? '' : `  (${fmt(r.conflicts)} conflicts)`)),
        ),
    });
    errors.push(
      ...runs.flatMap((r) => (r.error ? [`${r.workload} ${r.system} round ${r.round}: ${r.error}`] : [])),
    );

    let memory: MemoryResult | undefined;
    if (options.workloads.includes('memory') && options.systems.includes('fencepost')) {
      log(`memory: fencepost, ${fmt(params.memory.records)} records (child process)`);
      try {
        memory = await runMemory(db.url, params.memory, options.quick ? 60_000 : 900_000);
      } catch (error) {
        memory = emptyMemory(params.memory.records, (error as Error).message);
      }
      if (memory.error) errors.push(`memory: ${memory.error}`);
      else if (!options.quick) {
        const peak = Math.max(memory.read.peakRssMb, memory.follow.peakRssMb);
        memory.check = peak < MEMORY_LIMIT_MB ? 'PASS' : 'FAIL';
      }
    }

    let global: GlobalResult | undefined;
    const globalAll = options.workloads.includes('global');
    if ((globalAll || options.workloads.includes('notify')) && options.systems.includes('fencepost')) {
      global = await runGlobal(db.url, params.global, log, { catchUpAndLive: globalAll, notify: true });
      if (global.error) errors.push(`global: ${global.error}`);
    }

    const summary = summarize(runs, { workloads: roundWorkloads, systems, checkTargets: !options.quick });
    const table = formatTable(summary, memory);
    console.log(`\n${table}\n`);
    if (global) console.log(`${formatGlobal(global)}\n`);
    if (errors.length > 0) console.log(`errors:\n  ${errors.join('\n  ')}\n`);

    const finishedAt = new Date();
    const file = await writeReport(fileURLToPath(new URL('./results/', import.meta.url)), startedAt, {
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationS: (finishedAt.getTime() - startedAt.getTime()) / 1000,
      argv: process.argv.slice(2),
      mode: options.quick ? 'quick' : 'full',
      rounds: options.rounds,
      warmup: options.quick ? null : { rounds: 1, params: WARMUP_PARAMS },
      environment: {
        node: process.version,
        platform: `${os.platform()} ${os.release()}`,
        cpus: os.cpus().length,
        loadavgStart: loadStart,
        loadavgEnd: os.loadavg(),
        postgres: db.serverVersion,
        database: `${db.name} (dropped after the run)`,
        git: gitState(),
      },
      method: {
        isolation: 'each system in its own worker process (bench/worker.ts); this process only orchestrates',
        interleaving:
          'per round: each workload, the systems one after another; the system order rotates by one each round',
        reset:
          'before every run, untimed: the system empties its tables, then CHECKPOINT; stream names are fresh',
        rate: 'records per second of the timed section (setup, seeding and result checks are not timed)',
        median:
          'rates: median over the measured rounds; ratio (checked against targets) = median of the per-round ratios, each round running the systems back to back; ofMedians = median rate / median rate',
        read: `read-10k: ${params.read.passes} timed pass(es) over one ${fmt(params.read.records)}-record stream per round; fencepost reads with readSession (pages of ${params.read.pageSize} records), plain-pg with keyset pages of the same size, Emmett with one readStream call`,
        session:
          'session: ratio to fencepost’s own append-seq rate; plain-pg and Emmett have no append session (n/a)',
      },
      params,
      targets: options.quick ? 'not checked (--quick)' : { ...TARGETS, memoryLimitMb: MEMORY_LIMIT_MB },
      systems: Object.fromEntries(systems.map((s) => [s, { notes: workers.get(s)?.notes }])),
      summary,
      memory: memory ?? null,
      global: global ?? null,
      runs,
      errors,
    });
    log(`wrote ${file}`);
    return errors.length > 0 ? 1 : 0;
  } finally {
    await cleanup().catch((error: unknown) => log(`cleanup failed: ${(error as Error).message}`));
  }
}

/** The commit measured, and the files of src/ that differed from it (the log is written while we measure). */
function gitState(): { commit: string; uncommittedInSrc: string[] } | null {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8' }).trimEnd();
    const changed = git('status', '--porcelain', '--', 'src', 'migrations');
    return { commit: git('rev-parse', 'HEAD'), uncommittedInSrc: changed ? changed.split('\n') : [] };
  } catch {
    return null;
  }
}

function emptyMemory(records: number, error: string): MemoryResult {
  const phase = { peakRssMb: 0, ms: 0, records: 0 };
  return {
    records,
    seed: { method: '-', ms: 0 },
    rssStartMb: 0,
    rssBaselineMb: 0,
    read: phase,
    follow: phase,
    limitMb: MEMORY_LIMIT_MB,
    error,
  };
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) console.error(`${error.message}\n\n${USAGE}`);
    else console.error(error);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
