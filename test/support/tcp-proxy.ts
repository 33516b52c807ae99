/**
 * A TCP proxy on 127.0.0.1 in front of the test PostgreSQL server that can cut one connection at a chosen
 * moment, for testing what a client does when its connection is lost around a commit.
 *
 * ```ts
 * const proxy = await TcpProxy.start(connectionString);
 * const log = await EventLog.connect({ connectionString: proxy.connectionString });
 * proxy.cutNext({ containing: 'append-many', when: 'after-reply' });
 * ```
 *
 * It can also hold a reply back until the server's FATAL (a terminated backend) follows it, and deliver both
 * in one packet, as a busy server sometimes does.
 */
import net from 'node:net';

/** The start of a ReadyForQuery message, and the severity field of a FATAL ErrorResponse. */
const READY_FOR_QUERY = Buffer.from('Z\0\0\0\x05');
const FATAL = Buffer.from('SFATAL\0');

/**
 * When to cut: `after-reply` forwards the client's data to the server, waits for the server's reply (the
 * statement ran and, for a single statement outside a transaction, committed), drops the reply and closes
 * both sides, so the client never learns the outcome. `before-send` drops the data and closes both sides,
 * so the server never sees it. `after-send` forwards the data, then closes the client's side at once and
 * the server's once the data is sent: a statement still running (waiting for a lock, say) commits later,
 * unseen by the client.
 */
export type CutMoment = 'after-reply' | 'before-send' | 'after-send';

export class TcpProxy {
  readonly #server: net.Server;
  readonly #target: { host: string; port: number };
  readonly #sockets = new Set<net.Socket>();
  readonly #database: URL;
  #armed: { containing: Buffer; when: CutMoment } | undefined;
  #holdArmed: { containing: Buffer; held: () => void } | undefined;
  /** How many connections were cut. */
  cuts = 0;
  /**
   * While set, new connections are accepted and their data read, but never forwarded or answered: a server
   * that hangs during a connection's start.
   */
  stallNewConnections = false;
  /** How many stalled connections have sent something. */
  stalledWithData = 0;

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

  /**
   * Holds back the server's data on the next connection whose client sends data containing `containing`,
   * from that point until the server sends a FATAL error (its backend was terminated), then delivers all of
   * it in one write. The promise resolves once the held data includes the reply's ReadyForQuery.
   */
  holdReplyUntilFatal(options: { containing: string }): Promise<void> {
    return new Promise((held) => {
      this.#holdArmed = { containing: Buffer.from(options.containing), held };
    });
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #pipe(client: net.Socket): void {
    if (this.stallNewConnections) {
      this.#sockets.add(client);
      client.on('error', () => undefined);
      client.on('close', () => this.#sockets.delete(client));
      client.once('data', () => void this.stalledWithData++);
      return;
    }
    const server = net.connect(this.#target);
    this.#sockets.add(client).add(server);
    let cut: 'no' | 'awaiting-reply' | 'done' = 'no';
    let holding: { chunks: Buffer[]; held: (() => void) | undefined } | undefined;
    let draining = false; // after-send: the server's side closes once the data is out
    const end = () => {
      client.destroy();
      if (!draining) server.destroy();
    };
    client.on('data', (chunk) => {
      if (cut !== 'no') return;
      const hold = this.#holdArmed;
      if (hold && chunk.includes(hold.containing)) {
        this.#holdArmed = undefined;
        holding = { chunks: [], held: hold.held };
      }
      const armed = this.#armed;
      if (armed && chunk.includes(armed.containing)) {
        this.#armed = undefined;
        this.cuts++;
        if (armed.when === 'before-send') {
          cut = 'done';
          end();
          return;
        }
        if (armed.when === 'after-send') {
          cut = 'done';
          draining = true;
          server.end(chunk); // the server reads the statement, then the end of the connection
          client.destroy();
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
        if (chunk.includes(READY_FOR_QUERY)) {
          cut = 'done';
          end();
        }
        return;
      }
      if (holding) {
        holding.chunks.push(chunk);
        const data = Buffer.concat(holding.chunks);
        if (holding.held && data.includes(READY_FOR_QUERY)) {
          holding.held();
          holding.held = undefined;
        }
        if (data.includes(FATAL)) {
          holding = undefined;
          client.write(data);
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
