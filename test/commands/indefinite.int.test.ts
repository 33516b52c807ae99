import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandHandler, EventLog, IndefiniteAppendError } from '../../src/index.js';
import { Account } from '../support/account.js';
import { rejectionOf } from '../support/assertions.js';
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
