/**
 * A worker process: hosts one system and runs the workloads the orchestrator (main.ts) asks for, one at a
 * time. Each system gets a process of its own because the systems would otherwise change each other's
 * behaviour: Emmett's driver layer (dumbo) globally re-registers pg's type parsers (int8 as BigInt, json and
 * jsonb through its own parser) for every pg client in the process, and each system's garbage would be
 * collected during the next system's timed run.
 *
 * Started by main.ts with `fork()` (IPC channel); argv[2] is the system's name.
 */
import type { Params, RoundWorkload, SystemName } from './workloads.js';
import { SYSTEMS } from './workloads.js';
import type { BenchSystem, Measurement, RunContext, SystemFactory, SystemOptions } from './systems/system.js';

export type ToWorker =
  | { type: 'init'; options: SystemOptions }
  | { type: 'run'; workload: RoundWorkload; params: Params; ctx: RunContext }
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; notes: Record<string, string>; workloads: RoundWorkload[] }
  | { type: 'result'; measurement: Measurement | null }
  | { type: 'closed' }
  | { type: 'error'; message: string };

/** Loaded on demand: fencepost's module cannot load while src/index.ts is still being written. */
const FACTORIES: Record<SystemName, () => Promise<SystemFactory>> = {
  'plain-pg': async () => (await import('./systems/plain-pg.js')).create,
  emmett: async () => (await import('./systems/emmett.js')).create,
  fencepost: async () => (await import('./systems/fencepost.js')).create,
};

/** The workloads a system supports, and how to run each; `null` means n/a. */
function runner(system: BenchSystem, workload: RoundWorkload, params: Params, ctx: RunContext) {
  switch (workload) {
    case 'append-seq':
      return system.appendSeq(params.appendSeq, ctx);
    case 'append-16':
      return system.append16(params.append16, ctx);
    case 'append-batch':
      return system.appendBatch(params.appendBatch, ctx);
    case 'race-8':
      return system.race8(params.race, ctx);
    case 'read-10k':
      return system.read10k(params.read, ctx);
    case 'session':
      return system.session ? system.session(params.session, ctx) : null;
  }
}

function send(message: FromWorker): void {
  process.send?.(message);
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (cause: ${error.cause.message})` : '';
    return `${error.name}: ${error.message}${cause}`;
  }
  return String(error);
}

async function main(): Promise<void> {
  const name = process.argv[2] as SystemName;
  if (!SYSTEMS.includes(name) || !process.send) {
    throw new Error(`usage: fork bench/worker.ts <${SYSTEMS.join('|')}> with an IPC channel`);
  }
  let system: BenchSystem | undefined;

  // Messages are handled one after another, in arrival order (the orchestrator sends one at a time anyway).
  let queue = Promise.resolve();
  process.on('message', (message: ToWorker) => {
    queue = queue.then(async () => {
      try {
        switch (message.type) {
          case 'init': {
            system = await (await FACTORIES[name]())(message.options);
            const supported = (
              ['append-seq', 'append-16', 'append-batch', 'race-8', 'read-10k'] as const
            ).slice();
            send({
              type: 'ready',
              notes: system.notes,
              workloads: system.session ? [...supported, 'session'] : supported,
            });
            break;
          }
          case 'run': {
            if (!system) throw new Error('run before init');
            await system.reset();
            const run = runner(system, message.workload, message.params, message.ctx);
            send({ type: 'result', measurement: run ? await run : null });
            break;
          }
          case 'close':
            await system?.close();
            system = undefined;
            send({ type: 'closed' });
            process.disconnect();
            break;
        }
      } catch (error) {
        send({ type: 'error', message: describe(error) });
      }
    });
  });
  // The orchestrator went away (it crashed or was killed): close quietly and exit.
  process.on('disconnect', () => {
    void queue.then(() => system?.close()).finally(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  console.error(describe(error));
  process.exit(1);
});
