import type pg from 'pg';
import { connectClient } from './connect-client.js';
import type { ConnectCallback, LogState } from './log-state.js';

/**
 * The pool as a log's own code uses it: `connect` (and `query`, which checks out through it) goes through the
 * log's state, so that `close()` can settle every checkout of the log's, waiting or in use (see LogState).
 * Everything else is the pool's own (`options`, `totalCount`, `end`, ...). Internal.
 */
export function logPool(pool: pg.Pool, state: LogState): pg.Pool {
  function connect(callback?: ConnectCallback): Promise<pg.PoolClient> | undefined {
    if (callback) return void state.connect(pool, callback);
    return new Promise((resolve, reject) =>
      state.connect(pool, (error, client) => (error ? reject(error) : resolve(client!))),
    );
  }
  // pg-pool's own `query` checks out with `this.connect` of the pool itself, around the log's state.
  async function query(config: string | pg.QueryConfig, values?: unknown[]): Promise<pg.QueryResult> {
    const client = await connectClient(view);
    try {
      const result = await client.query(config, values);
      client.release();
      return result;
    } catch (error) {
      client.release(error as Error);
      throw error;
    }
  }
  const view: pg.Pool = new Proxy(pool, {
    get(target, property) {
      if (property === 'connect') return connect;
      if (property === 'query') return query;
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return view;
}
