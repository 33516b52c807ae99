/** The orchestrator's side of the child processes: one worker per system (worker.ts), and memory.ts. */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Measurement, RunContext, SystemOptions } from './systems/system.js';
import type { FromWorker, ToWorker } from './worker.js';
import type { MemoryResult } from './harness.js';
import type { MeasureReport, SeedReport } from './memory.js';
import { MEMORY_LIMIT_MB, type Params, type RoundWorkload, type SystemName } from './workloads.js';

/** Children run TypeScript through tsx's loader, resolved from this package (not from the working directory). */
const TSX = import.meta.resolve('tsx');
const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

function spawn(file: string, args: string[], nodeFlags: string[] = []): ChildProcess {
  return fork(here(file), args, {
    execArgv: ['--import', TSX, ...nodeFlags],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

/** A live worker process hosting one system. Requests go one at a time. */
export class SystemProcess {
  notes: Record<string, string> = {};
  workloads: RoundWorkload[] = [];
  #exited: string | undefined;
  #pending: { resolve: (m: FromWorker) => void; reject: (e: Error) => void } | undefined;

  private constructor(
    readonly name: SystemName,
    private readonly child: ChildProcess,
  ) {
    child.on('message', (message: FromWorker) => {
      const pending = this.#pending;
      this.#pending = undefined;
      pending?.resolve(message);
    });
    child.on('exit', (code, signal) => {
      this.#exited = `the ${name} worker exited (${signal ?? `code ${code}`})`;
      const pending = this.#pending;
      this.#pending = undefined;
      pending?.reject(new Error(this.#exited));
    });
  }

  get alive(): boolean {
    return this.#exited === undefined;
  }

  /** Forks the worker and has it connect (running its migrations); throws what the worker threw. */
  static async start(name: SystemName, options: SystemOptions, timeoutMs: number): Promise<SystemProcess> {
    const worker = new SystemProcess(name, spawn('./worker.ts', [name]));
    try {
      const ready = await worker.#request({ type: 'init', options }, timeoutMs);
      if (ready.type !== 'ready') throw new Error(`unexpected answer ${ready.type}`);
      worker.notes = ready.notes;
      worker.workloads = ready.workloads;
      return worker;
    } catch (error) {
      worker.kill();
      throw error;
    }
  }

  /** One timed run; `null` when the system has no such workload. A timeout kills the worker. */
  async run(
    workload: RoundWorkload,
    params: Params,
    ctx: RunContext,
    timeoutMs: number,
  ): Promise<Measurement | null> {
    const answer = await this.#request({ type: 'run', workload, params, ctx }, timeoutMs);
    if (answer.type !== 'result') throw new Error(`unexpected answer ${answer.type}`);
    return answer.measurement;
  }

  /** Asks the worker to close its system and exit; kills it if it does not within `timeoutMs`. */
  async close(timeoutMs = 10_000): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    try {
      await this.#request({ type: 'close' }, timeoutMs);
    } catch {
      // Killed below if still there.
    }
    const timer = setTimeout(() => this.kill(), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  kill(): void {
    if (this.alive) this.child.kill('SIGKILL');
  }

  #request(message: ToWorker, timeoutMs: number): Promise<FromWorker> {
    if (this.#exited !== undefined) return Promise.reject(new Error(this.#exited));
    if (this.#pending) return Promise.reject(new Error('a request is already in flight'));
    return new Promise<FromWorker>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending = undefined;
        this.kill();
        reject(
          new Error(`the ${this.name} worker did not answer ${message.type} within ${timeoutMs / 1000} s`),
        );
      }, timeoutMs);
      this.#pending = {
        resolve: (answer) => {
          clearTimeout(timer);
          if (answer.type === 'error') reject(new Error(answer.message));
          else resolve(answer);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.child.send(message);
    });
  }
}

/** Runs one memory.ts child (with --expose-gc) and returns what it reported. */
function memoryChild<T extends object>(args: string[], timeoutMs: number): Promise<T> {
  const child = spawn('./memory.ts', args, ['--expose-gc']);
  return new Promise<T>((resolve, reject) => {
    let result: T | { error: string } | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`memory.ts ${args[0]} did not finish within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    child.on('message', (message: T | { error: string }) => (result = message));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (result && 'error' in result) reject(new Error(`memory.ts ${args[0]}: ${result.error}`));
      else if (result) resolve(result);
      else reject(new Error(`memory.ts ${args[0]} exited (${signal ?? `code ${code}`}) without a result`));
    });
  });
}

/** The memory check: seeds the stream in one child, then measures reading and following it in a fresh one. */
export async function runMemory(
  connectionString: string,
  params: Params['memory'],
  timeoutMs: number,
): Promise<MemoryResult> {
  const records = String(params.records);
  const seed = await memoryChild<SeedReport>(
    ['seed', connectionString, records, String(params.seedBatch)],
    timeoutMs,
  );
  const measured = await memoryChild<MeasureReport>(['measure', connectionString, records], timeoutMs);
  return { records: params.records, seed, ...measured, limitMb: MEMORY_LIMIT_MB };
}
