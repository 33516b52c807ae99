import { FencepostError } from '../log/errors.js';

/**
 * The base of the errors a decider throws to refuse a command (a business rule). The command handler passes
 * them through unchanged and never retries them. Give each subclass its own stable `code`.
 *
 * @example
 * class InsufficientFunds extends DomainError {
 *   constructor(readonly balance: number, readonly amount: number) {
 *     super('insufficient_funds', `cannot withdraw ${amount}: the balance is ${balance}`);
 *   }
 * }
 */
export class DomainError extends FencepostError {}

/** Why a record could not be decoded as an event of its aggregate. */
export type EventDecodeReason =
  'missing_type' | 'unknown_type' | 'bad_version' | 'no_upcaster' | 'bad_json' | 'invalid_data';

/**
 * A stored record could not be decoded into one of the aggregate's events: its type is unknown, its version
 * has no upcaster, or its data fails the schema. Loading stops there: a record is never skipped and never
 * returned half-typed.
 */
export class EventDecodeError extends FencepostError {
  readonly stream: string;
  readonly seqNum: number;
  readonly type: string | undefined;
  readonly reason: EventDecodeReason;

  constructor(
    details: { stream: string; seqNum: number; type: string | undefined; reason: EventDecodeReason },
    message: string,
    options?: { cause?: unknown },
  ) {
    super(
      'event_decode',
      `cannot decode record ${details.seqNum} of stream ${JSON.stringify(details.stream)}` +
        ` (type ${details.type === undefined ? 'missing' : JSON.stringify(details.type)}): ${message}`,
      options,
    );
    this.stream = details.stream;
    this.seqNum = details.seqNum;
    this.type = details.type;
    this.reason = details.reason;
  }
}

/** A command expected an existing aggregate (`expect: 'existing'`), and its stream has no events (HTTP 404). */
export class AggregateNotFoundError extends FencepostError {
  readonly aggregate: string;
  readonly id: string;
  readonly stream: string;

  constructor(aggregate: string, id: string, stream: string) {
    super(
      'aggregate_not_found',
      `${aggregate} ${JSON.stringify(id)} does not exist (stream ${JSON.stringify(stream)} has no events)`,
    );
    this.aggregate = aggregate;
    this.id = id;
    this.stream = stream;
  }
}

/** A command expected a new aggregate (`expect: 'new'`), and its stream has events already (HTTP 409). */
export class AggregateAlreadyExistsError extends FencepostError {
  readonly aggregate: string;
  readonly id: string;
  readonly stream: string;
  /** The stream's next seqNum when the command was refused. */
  readonly version: number;

  constructor(aggregate: string, id: string, stream: string, version: number) {
    super(
      'aggregate_already_exists',
      `${aggregate} ${JSON.stringify(id)} exists already (stream ${JSON.stringify(stream)} has ${version} records)`,
    );
    this.aggregate = aggregate;
    this.id = id;
    this.stream = stream;
    this.version = version;
  }
}
