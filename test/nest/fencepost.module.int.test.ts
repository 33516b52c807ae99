/**
 * FencepostModule on a real database: the providers resolve, a command runs end to end through the bus to the
 * log, `forRootAsync` takes its options from a factory, bad options fail the bootstrap before anything is
 * written, and shutdown really closes the pool (no backend of it is left in pg_stat_activity).
 */
import { Inject, Injectable, Module, Scope } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { EventLog, InvalidArgumentError } from '../../src/index.js';
import {
  Command,
  CommandBus,
  CommandHandler,
  CommandHandlerNotFoundError,
  FencepostModule,
  type HandlesCommand,
  InvalidCommandHandlerError,
} from '../../src/nest/index.js';
import { adminQuery, useTestDatabase } from '../support/database.js';
import { rejectionOf, eventually } from '../support/assertions.js';
import { uniqueName } from '../support/event-log.js';

const db = useTestDatabase();

class Note extends Command<{ seqNum: number }> {
  constructor(
    readonly stream: string,
    readonly text: string,
  ) {
    super();
  }
}

/** Injected by type (design:paramtypes from swc), as users' compiled code does. */
@CommandHandler(Note)
class NoteHandler implements HandlesCommand<Note> {
  constructor(private readonly log: EventLog) {}

  async execute(command: Note) {
    const ack = await this.log.stream(command.stream).append([{ body: command.text }]);
    return { seqNum: ack.start.seqNum };
  }
}

/** How many backends are connected to the test database under `application_name`. */
async function backends(applicationName: string): Promise<number> {
  const rows = await adminQuery<{ n: number }>(
    'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = $2',
    [db.name, applicationName],
  );
  return rows[0]!.n;
}

function urlWithName(applicationName: string): string {
  const url = new URL(db.connectionString);
  url.searchParams.set('application_name', applicationName);
  return url.href;
}

/** The root module on the test database, without the background sweep. */
function root() {
  return FencepostModule.forRoot({ connectionString: db.connectionString, sweepIntervalMs: 0 });
}

async function compile(imports: Parameters<typeof Test.createTestingModule>[0]): Promise<TestingModule> {
  const module = await Test.createTestingModule(imports).compile();
  return module.init();
}

describe('FencepostModule.forRoot', () => {
  it('provides the EventLog and the CommandBus, and runs a command end to end', async () => {
    const module = await compile({
      imports: [root()],
      providers: [NoteHandler],
    });
    try {
      const log = module.get(EventLog);
      expect(log).toBeInstanceOf(EventLog);
      const bus = module.get(CommandBus);
      const stream = uniqueName('note');
      const first = await bus.execute(new Note(stream, 'hello'));
      const second = await bus.execute(new Note(stream, 'again'));
      expect([first.seqNum, second.seqNum]).toEqual([0, 1]);
      const { records } = await log.stream(stream).read({ seqNum: 0 });
      expect(records.map((r) => r.body)).toEqual(['hello', 'again']);
    } finally {
      await module.close();
    }
  });

  it('closes the pool on shutdown: no connection of it is left', async () => {
    const name = uniqueName('shutdown-probe');
    const module = await compile({
      imports: [FencepostModule.forRoot({ connectionString: urlWithName(name), sweepIntervalMs: 0 })],
    });
    const log = module.get(EventLog);
    // Check out several connections at once so the pool really holds some.
    await Promise.all([1, 2, 3].map(() => log.pool.query('SELECT pg_sleep(0.05)')));
    expect(log.pool.totalCount).toBeGreaterThan(0);
    expect(await backends(name)).toBeGreaterThan(0);
    await module.close();
    expect(log.pool.ended).toBe(true);
    expect(log.pool.totalCount).toBe(0);
    // The server may take a moment to reap the backends after the clients said goodbye.
    await eventually(async () => (await backends(name)) === 0, 'the pool backends to be gone');
  });

  it("leaves a pool passed in open on shutdown: it stays the caller's", async () => {
    const pool = new pg.Pool({ connectionString: db.connectionString, max: 2 });
    try {
      const module = await compile({ imports: [FencepostModule.forRoot({ pool, sweepIntervalMs: 0 })] });
      await module
        .get(EventLog)
        .stream(uniqueName())
        .append([{ body: 'x' }]);
      await module.close();
      expect(pool.ended).toBe(false);
      expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one).toBe(1);
    } finally {
      await pool.end();
    }
  });

  it('refuses bad options at bootstrap, naming the option', async () => {
    const error = await rejectionOf(
      compile({ imports: [FencepostModule.forRoot({ connectionString: db.connectionString, max: -1 })] }),
    );
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(/^FencepostModule options: .*max/);
  });
});

describe('FencepostModule.forRootAsync', () => {
  @Injectable()
  class Settings {
    readonly url = db.connectionString;
  }
  @Module({ providers: [Settings], exports: [Settings] })
  class SettingsModule {}

  it('takes its options from a factory with injected dependencies', async () => {
    const module = await compile({
      imports: [
        FencepostModule.forRootAsync({
          imports: [SettingsModule],
          useFactory: (settings: Settings) => ({ connectionString: settings.url, schema: 'async_schema' }),
          inject: [Settings],
        }),
      ],
    });
    try {
      const log = module.get(EventLog);
      expect(log.schema).toBe('async_schema');
      await log.stream(uniqueName()).append([{ body: 'x' }]);
    } finally {
      await module.close();
    }
  });
});

describe('CommandBus', () => {
  class Unhandled extends Command {}

  it('says which command has no handler, and refuses plain objects', async () => {
    const module = await compile({
      imports: [root()],
      providers: [NoteHandler],
    });
    try {
      const bus = module.get(CommandBus);
      const missing = await rejectionOf(bus.execute(new Unhandled()));
      expect(missing).toBeInstanceOf(CommandHandlerNotFoundError);
      expect(missing).toMatchObject({ code: 'command_handler_not_found', command: 'Unhandled' });
      const plain = await rejectionOf(bus.execute({ type: 'Note' }));
      expect(plain).toBeInstanceOf(CommandHandlerNotFoundError);
      expect((plain as Error).message).toMatch(/plain object/);
    } finally {
      await module.close();
    }
  });

  it('fails the bootstrap when two providers handle the same command', async () => {
    @CommandHandler(Note)
    class SecondNoteHandler implements HandlesCommand<Note> {
      constructor(@Inject(EventLog) private readonly log: EventLog) {}
      async execute() {
        return { seqNum: -1 };
      }
    }
    const builder = Test.createTestingModule({
      imports: [root()],
      providers: [NoteHandler, SecondNoteHandler],
    });
    const module = await builder.compile();
    const error = await rejectionOf(module.init());
    await module.get(EventLog).close(); // close() would rethrow the failed init and run no hooks
    expect(error).toBeInstanceOf(InvalidCommandHandlerError);
    expect((error as Error).message).toMatch(/NoteHandler and SecondNoteHandler/);
  });

  it('refuses a request-scoped handler at bootstrap (the bus holds one instance per command)', async () => {
    @CommandHandler(Note)
    @Injectable({ scope: Scope.REQUEST })
    class RequestScopedNoteHandler implements HandlesCommand<Note> {
      async execute() {
        return { seqNum: -1 };
      }
    }
    const module = await Test.createTestingModule({
      imports: [root()],
      providers: [RequestScopedNoteHandler],
    }).compile();
    const error = await rejectionOf(module.init());
    await module.get(EventLog).close();
    expect(error).toBeInstanceOf(InvalidCommandHandlerError);
    expect((error as Error).message).toMatch(/RequestScopedNoteHandler must be a singleton provider/);
  });
});
