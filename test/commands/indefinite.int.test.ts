import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandHandler, EventLog, IndefiniteAppendError } from '../../src/index.js';
import { Account } from '../support/account.js';
import { eventually, rejectionOf } from '../support/assertions.js';
import { uniqueName, useEventLog } from '../support/event-log.js';
import { TcpProxy } from '../support/tcp-proxy.js';

// The proxy cuts the connection of the command's append (statement `append-many`): either after the
// server answered (it committed; the client never learns it) or before the server saw it.
const fixture = useEventLog();
let proxy: TcpProxy;
let log: EventLog;

beforeAll(async () => {
  proxy = await TcpProxy.start(fixture.connectionString);
  log = await fixture.connect({ connectionString: proxy.connectionString, migrate: false });
});
afterAll(async () => {
  await log.close();
  await proxy.close();
});

const direct = () => new CommandHandler(fixture.log, Account);
async function deposits(id: string): Promise<number> {
  const events = await direct().repository.events(id, 0, Number.MAX_SAFE_INTEGER);
  return events.filter((e) => e.type === 'Deposited').length;
}

describe('a connection lost around the commit of a command', () => {
  it('after the commit: the handler reads the outcome back and returns it; nothing is doubled', async () => {
    const commands = new CommandHandler(log, Account);
    const id = uniqueName('cut');
    await commands.handle(id, { type: 'Open', owner: 'ada' });
    proxy.cutNext({ containing: 'append-many', when: 'after-reply' });
    const cuts = proxy.cuts;
    const result = await commands.handle(id, { type: 'Deposit', amount: 5 }, { commandId: 'dep-cut' });
    expect(proxy.cuts).toBe(cuts + 1);
    expect(result).toMatchObject({ duplicate: false, version: 2, state: { balance: 5 } });
    expect(await deposits(id)).toBe(1);
    expect(result.events).toEqual(await direct().repository.events(id, 1, 2));
    // Also without a command id given (the handler's own random id resolves it).
    proxy.cutNext({ containing: 'append-many', when: 'after-reply' });
    const second = await commands.handle(id, { type: 'Deposit', amount: 7 });
    expect(proxy.cuts).toBe(cuts + 2);
    expect(second).toMatchObject({ duplicate: false, version: 3, state: { balance: 12 } });
    expect(await deposits(id)).toBe(2);
  });

  it('before the server saw it: the handler finds it was not applied and appends once', async () => {
    const commands = new CommandHandler(log, Account);
    const id = uniqueName('cut');
    await commands.handle(id, { type: 'Open', owner: 'ada' });
    proxy.cutNext({ containing: 'append-many', when: 'before-send' });
    const cuts = proxy.cuts;
    const result = await commands.handle(id, { type: 'Deposit', amount: 5 }, { commandId: 'dep-lost' });
    expect(proxy.cuts).toBe(cuts + 1);
    expect(result).toMatchObject({ duplicate: false, version: 2, state: { balance: 5 } });
    expect(await deposits(id)).toBe(1);
  });

  it('while the append still waited on the server: its late commit is the result; nothing is doubled', async () => {
    // The append reaches the server and waits there for the stream's row lock (held here); the handler sees
    // its connection close, reads back (nothing yet), and tries again, and its new append waits behind the
    // first. Then the lock is let go: the first append commits, and the retry must find it, not append again.
    const commands = new CommandHandler(log, Account);
    const id = uniqueName('late');
    await commands.handle(id, { type: 'Open', owner: 'ada' });
    const holder = new pg.Client({ connectionString: fixture.connectionString });
    await holder.connect();
    try {
      await holder.query('begin');
      const locked = await holder.query(
        `select 1 from fencepost.streams where name like '%' || $1 for update`,
        [id],
      );
      expect(locked.rowCount).toBe(1);
      const cuts = proxy.cuts;
      proxy.cutNext({ containing: 'append-many', when: 'after-send' });
      const handled = commands.handle(id, { type: 'Deposit', amount: 5 }, { commandId: 'dep-late' });
      const outcome = handled.then(
        () => undefined,
        (error: unknown) => error,
      );
      await eventually(async () => {
        // Asked outside the holder's transaction: pg_stat_activity is read once per transaction.
        const { rows } = await fixture.log.pool.query<{ waiting: number }>(
          `select count(*)::int as waiting from pg_stat_activity
           where datname = current_database() and wait_event_type = 'Lock'`,
        );
        return proxy.cuts === cuts + 1 && rows[0]!.waiting === 2;
      }, 'the cut append and its retry to wait for the row lock');
      await holder.query('commit');
      expect(await outcome).toBeUndefined();
      const result = await handled;
      expect(result).toMatchObject({ duplicate: false, version: 2, state: { balance: 5 } });
      expect(await deposits(id)).toBe(1);
    } finally {
      await holder.query('rollback').catch(() => undefined);
      await holder.end();
    }
  });

  it('surfaces IndefiniteAppendError when it cannot resolve it, and the retry returns the original result', async () => {
    const once = new CommandHandler(log, Account, { retry: { maxAttempts: 1 } });
    const id = uniqueName('cut');
    await once.handle(id, { type: 'Open', owner: 'ada' });
    proxy.cutNext({ containing: 'append-many', when: 'after-reply' });
    const error = await rejectionOf(once.handle(id, { type: 'Deposit', amount: 5 }, { commandId: 'dep-x' }));
    expect(error).toBeInstanceOf(IndefiniteAppendError);
    expect(error).toMatchObject({ code: 'indefinite', indefinite: true });
    const retried = await once.handle(id, { type: 'Deposit', amount: 5 }, { commandId: 'dep-x' });
    expect(retried).toMatchObject({ duplicate: true, version: 2, state: { balance: 5 } });
    expect(retried.events).toEqual(await direct().repository.events(id, 1, 2));
    expect(await deposits(id)).toBe(1);
  });
});
