import type { LogContext } from './log-context.js';
import { checkStreamName } from './names.js';
import { Stream } from './stream.js';
import { Streams } from './streams.js';

/**
 * A basin: a namespace of streams. Cheap to create; holds no connection.
 *
 * @example
 * const orders = log.basin('acme-prod').stream('orders-42');
 */
export class Basin {
  readonly #context: LogContext;
  /** The basin's name. */
  readonly name: string;
  /** Create, list, configure and delete this basin's streams. */
  readonly streams: Streams;

  /** @internal */
  constructor(context: LogContext, name: string) {
    this.#context = context;
    this.name = name;
    this.streams = new Streams(context, name);
  }

  /**
   * A handle on one stream of this basin. The stream need not exist yet.
   *
   * @throws InvalidArgumentError for a name that is not 1–512 bytes of UTF-8, is `.` or `..`, or holds NUL.
   */
  stream(name: string): Stream {
    return new Stream(this.#context, this.name, checkStreamName(name));
  }
}
