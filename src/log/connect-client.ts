import type pg from 'pg';

/**
 * Checks a client out of the pool with an `error` listener attached until it is released. pg-pool leaves a
 * checked-out client without one, so a connection killed between statements (the server's FATAL can arrive
 * in the same packet as the previous reply) would otherwise crash the process as an unhandled `error` event.
 * The error still fails the next statement on that client, which is released as broken.
 */
export async function connectClient(pool: pg.Pool): Promise<pg.PoolClient> {
  const client = await pool.connect();
  const ignore = (): void => undefined;
  client.on('error', ignore);
  const release = client.release.bind(client);
  client.release = (error?: Error | boolean) => {
    client.removeListener('error', ignore);
    client.release = release;
    release(error);
  };
  return client;
}
