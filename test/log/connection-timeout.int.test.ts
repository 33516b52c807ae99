/**
 * `connectionTimeoutMillis`: how long an operation of a pool fencepost makes waits for a connection. Past it
 * the operation fails with a definite StorageError and writes nothing, whether every connection is in use or
 * the server never answers.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventLog, IndefiniteAppendError, InvalidArgumentError, StorageError } from '../../src/index.js';
import { rejectionOf } from '../support/assertions.js';
import { uniqueName, useEventLog } from '../support/event-log.js';

const fixture = useEventLog();

/** A TCP server that accepts connections and never says a word: a database that hangs at the handshake. */
let silent: net.Server;
const held: net.Socket[] = [];
beforeAll(async () => {
  silent = net.createServer((socket) => held.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  for (const socket of held) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

describe('connectionTimeoutMillis', () => {
  it('is 30 s for the pools fencepost makes unless told otherwise', async () => {
    expect(fixture.log.pool.options.connectionTimeoutMillis).toBe(30_000);
    const never = await fixture.connect({ connectionTimeoutMillis: 0 });
    expect(never.pool.options.connectionTimeoutMillis).toBe(0);
  });

  it('fails an append that waits longer for a connection with a definite StorageError, writing nothing', async () => {
    const log = await fixture.connect({ max: 1, connectionTimeoutMillis: 200 });
    const stream = log.stream(uniqueName('busy'));
    await stream.append([{ body: 'first' }]);
    const taken = await log.pool.connect(); // the pool's only connection
    let error: unknown;
    try {
      error = await rejectionOf(stream.append([{ body: 'waited' }], { matchSeqNum: 1 }));
    } finally {
      taken.release();
    }
    expect(error).toBeInstanceOf(StorageError);
    expect(error).not.toBeInstanceOf(IndefiniteAppendError);
    expect((error as StorageError).connectionLost).toBe(true);
    expect((error as Error).message).toMatch(/could not get a database connection: .*timeout/);
    expect((await stream.read({ seqNum: 0 })).records.map((r) => r.body)).toEqual(['first']);
    const ack = await stream.append([{ body: 'second' }], { matchSeqNum: 1 });
    expect(ack.start.seqNum).toBe(1);
  });

  it('fails connect to a server that never answers, instead of waiting forever', async () => {
    const { port } = silent.address() as net.AddressInfo;
    const error = await rejectionOf(
      EventLog.connect({
        connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`,
        connectionTimeoutMillis: 200,
      }),
    );
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).connectionLost).toBe(true);
    expect((error as Error).message).toMatch(/timeout/);
  });

  it('rejects a negative or fractional value, and the setting next to a pool of the caller', async () => {
    for (const connectionTimeoutMillis of [-1, 1.5]) {
      const error = await rejectionOf(
        EventLog.connect({ connectionString: fixture.connectionString, connectionTimeoutMillis }),
      );
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toMatch(/connectionTimeoutMillis/);
    }
    const error = await rejectionOf(EventLog.connect({ pool: fixture.log.pool, connectionTimeoutMillis: 5 }));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain('connectionTimeoutMillis 5');
  });
});
