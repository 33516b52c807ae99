import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient } from '../../src/log/connect-client.js';
import { rejectionOf } from '../support/assertions.js';
import { testPool, useTestDatabase } from '../support/database.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const database = useTestDatabase();
let proxy: TcpProxy;
let admin: pg.Pool;
beforeAll(async () => {
  proxy = await TcpProxy.start(database.connectionString);
  admin = testPool(database.connectionString);
});
afterAll(async () => {
  await admin.end();
  await proxy.close();
});

describe('connectClient', () => {
  it('survives a FATAL that arrives in the same packet as the reply that handed it the client', async () => {
    const uncaught: unknown[] = [];
    const record = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', record);
    const pool = new pg.Pool({ connectionString: proxy.connectionString, max: 1 });
    pool.on('error', () => undefined);
    try {
      const { rows } = await pool.query<{ pid: number }>('select pg_backend_pid() as pid');
      const held = proxy.holdReplyUntilFatal({ containing: 'held reply' });
      // pool.query releases its client inside the reply's parsing, which hands it straight to the waiting
      // connectClient; the FATAL that follows in the same packet is parsed before any promise continuation.
      const replied = pool.query("select 'held reply' as said");
      const waiting = connectClient(pool);
      await held;
      await admin.query('select pg_terminate_backend($1)', [rows[0]!.pid]);
      expect((await replied).rows).toEqual([{ said: 'held reply' }]);
      const client = await waiting;
      expect(await rejectionOf(client.query('select 1'))).toBeInstanceOf(Error);
      client.release(true);
      expect(uncaught).toEqual([]);
      expect((await pool.query('select 1 as ok')).rows).toEqual([{ ok: 1 }]);
    } finally {
      process.off('uncaughtException', record);
      await pool.end();
    }
  });
});
