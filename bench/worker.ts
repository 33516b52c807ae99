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
import { ROUND_WORKLOADS, SYSTEMS } from './workloads.js';
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

type Run = (params: Params, ctx: RunContext) => Promise<Measurement>;

/** The system's method for a workload; `null` when it has none (n/a). */
function runner(system: BenchSystem, workload: RoundWorkload): Run | null {
  switch (workload) {
    case 'append-seq':
      return (p, ctx) => system.appendSeq(p.appendSeq, ctx);
    case 'append-16':
      return (p, ctx) => system.append16(p.append16, ctx);
    case 'append-batch':
      return (p, ctx) => system.appendBatch(p.appendBatch, ctx);
    case 'race-8':
      return (p, ctx) => system.race8(p.race, ctx);
    case 'read-10k':
      return (p, ctx) => system.read10k(p.read, ctx);
    case 'session': {
      const session = system.session?.bind(system);
      return session ? (p, ctx) => session(p.session, ctx) : null;
    }
    case 'load-10k': {
      const load = system.load10k?.bind(system);
      return load ? (p, ctx) => load(p.load, ctx) : null;
    }
    case 'snap-100': {
      const snap = system.snap100?.bind(system);
      return snap ? (p, ctx) => snap(p.snapshots, ctx) : null;
    }
    case 'snap-100k': {
      const snap = system.snap100k?.bind(system);
      return snap ? (p, ctx) => snap(p.snapshots, ctx) : null;
    }
    case 'commands-16': {
      const commands = system.commands16?.bind(system);
      return commands ? (p, ctx) => commands(p.commands, ctx) : null;
    }
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
            const created = await (await FACTORIES[name]())(message.options);
            system = created;
            send({
              type: 'ready',
              notes: created.notes,
              workloads: ROUND_WORKLOADS.filter((w) => runner(created, w) !== null),
            });
            break;
          }
          case 'run': {
            if (!system) throw new Error('run before init');
            const run = runner(system, message.workload);
            if (run) await system.reset();
            send({ type: 'result', measurement: run ? await run(message.params, message.ctx) : null });
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
