/**
 * A TCP proxy on 127.0.0.1 in front of the test PostgreSQL server that can cut one connection at a chosen
 * moment, for testing what a client does when its connection is lost around a commit.
 *
 * ```ts
 * const proxy = await TcpProxy.start(connectionString);
 * const log = await EventLog.connect({ connectionString: proxy.connectionString });
 * proxy.cutNext({ containing: 'append-many', when: 'after-reply' });
 * ```
 */
import net from 'node:net';

/**
 * When to cut: `after-reply` forwards the client's data to the server, waits for the server's reply (the
 * statement ran and, for a single statement outside a transaction, committed), drops the reply and closes
 * both sides, so the client never learns the outcome. `before-send` drops the data and closes both sides,
 * so the server never sees it.
 */
export type CutMoment = 'after-reply' | 'before-send';

export class TcpProxy {
  readonly #server: net.Server;
  readonly #target: { host: string; port: number };
  readonly #sockets = new Set<net.Socket>();
  readonly #database: URL;
  #armed: { containing: Buffer; when: CutMoment } | undefined;
  /** How many connections were cut. */
  cuts = 0;

  private constructor(server: net.Server, target: URL) {
    this.#server = server;
    this.#database = target;
    this.#target = { host: target.hostname, port: Number(target.port || 5432) };
    server.on('connection', (client) => this.#pipe(client));
  }

  /** Starts a proxy to the server of `connectionString`, on a free port. */
  static async start(connectionString: string): Promise<TcpProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new TcpProxy(server, new URL(connectionString));
  }

  /** The connection string of the same database, through the proxy. */
  get connectionString(): string {
    const url = new URL(this.#database);
    url.hostname = '127.0.0.1';
    url.port = String((this.#server.address() as net.AddressInfo).port);
    return url.toString();
  }

  /** Cuts the next connection whose client sends data containing `containing` (e.g. a statement name). */
  cutNext(options: { containing: string; when: CutMoment }): void {
    this.#armed = { containing: Buffer.from(options.containing), when: options.when };
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #pipe(client: net.Socket): void {
    const server = net.connect(this.#target);
    this.#sockets.add(client).add(server);
    let cut: 'no' | 'awaiting-reply' | 'done' = 'no';
    const end = () => {
      client.destroy();
      server.destroy();
    };
    client.on('data', (chunk) => {
      if (cut !== 'no') return;
      const armed = this.#armed;
      if (armed && chunk.includes(armed.containing)) {
        this.#armed = undefined;
        this.cuts++;
        if (armed.when === 'before-send') {
          cut = 'done';
          end();
          return;
        }
        cut = 'awaiting-reply';
        server.write(chunk);
        return;
      }
      server.write(chunk);
    });
    server.on('data', (chunk) => {
      if (cut === 'awaiting-reply') {
        // The server answered (ReadyForQuery comes after the commit): drop the answer, cut the client off.
        if (chunk.includes(Buffer.from('Z\0\0\0\x05'))) {
          cut = 'done';
          end();
        }
        return;
      }
      if (cut === 'no') client.write(chunk);
    });
    for (const socket of [client, server]) {
      socket.on('error', end);
      socket.on('close', () => {
        this.#sockets.delete(socket);
        end();
      });
    }
  }
}
