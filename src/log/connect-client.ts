import type pg from 'pg';

/**
 * Checks a client out of the pool with an `error` listener attached until it is released. pg-pool leaves a
 * checked-out client without one, so a connection killed between statements would otherwise crash the process
 * as an unhandled `error` event. The error still fails the next statement on that client, which is released
 * as broken.
 *
 * The listener is attached inside pg-pool's callback, not after its promise resolves: the server's FATAL can
 * arrive in the same packet as the reply that let the previous user release the client, and pg-pool hands the
 * client to a waiting `connect` while that packet is still being parsed, before any promise continuation runs.
 */
export function connectClient(pool: pg.Pool): Promise<pg.PoolClient> {
  return new Promise((resolve, reject) => {
    pool.connect((error, client) => {
      if (error || !client) {
        reject(error ?? new Error('pg-pool gave neither a client nor an error'));
        return;
      }
      const ignore = (): void => undefined;
      client.on('error', ignore);
      const release = client.release.bind(client);
      client.release = (failure?: Error | boolean) => {
        client.removeListener('error', ignore);
        client.release = release;
        release(failure);
      };
      resolve(client);
    });
  });
}
