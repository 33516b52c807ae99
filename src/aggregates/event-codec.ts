import { InvalidArgumentError } from '../log/errors.js';
import { pickTextHeaders, textHeaderPairs } from '../log/text-types.js';
import type { AppendRecord, SequencedRecord } from '../log/types.js';
import type { AnyEvent, EventDefinition, Upcaster } from './define-event.js';
import { EventDecodeError, type EventDecodeReason } from './errors.js';
import type { EventEnvelope, RecordedEvent } from './recorded-event.js';

/** Header names of event records. */
export const EVENT_HEADERS = {
  type: 'type',
  version: 'version',
  eventId: 'event-id',
  commandId: 'command-id',
  correlationId: 'correlation-id',
  causationId: 'causation-id',
  metadata: 'metadata',
} as const;

/**
 * Turns events into log records and back, for one set of event types. A record is a JSON body (the event's
 * data) with headers `type`, `version`, `event-id` and, where given, `command-id`, `correlation-id`,
 * `causation-id` and `metadata` (JSON).
 *
 * @example
 * const codec = new EventCodec([AccountOpened, Deposited]);
 * const record = codec.encode({ type: 'Deposited', data: { amount: 5, currency: 'EUR' } }, { eventId: randomUUID() });
 */
export class EventCodec<E extends AnyEvent = AnyEvent> {
  readonly #types = new Map<string, EventDefinition>();

  /** @throws InvalidArgumentError when two definitions share a type. */
  constructor(definitions: readonly EventDefinition[]) {
    for (const definition of definitions) {
      if (this.#types.has(definition.type))
        throw new InvalidArgumentError(`event type ${JSON.stringify(definition.type)} is defined twice`);
      this.#types.set(definition.type, definition);
    }
  }

  /**
   * The record of an event at its type's newest version, its data checked by the schema. What is stored is
   * the schema's output as JSON, and it must read back as written: the schema must accept its own JSON output
   * and give it back unchanged (no `z.date()`, which JSON turns into a string; no transform that changes a
   * value again on every parse). An event that would not is refused here, before anything is written,
   * instead of leaving a record that no load can decode.
   *
   * @throws InvalidArgumentError for an unknown type, data the schema refuses, or data that would not read
   *   back as written.
   */
  encode(event: E, envelope: EventEnvelope): AppendRecord {
    const definition = event === null || typeof event !== 'object' ? undefined : this.#types.get(event.type);
    if (!definition) {
      throw new InvalidArgumentError(
        `event type ${JSON.stringify((event as AnyEvent | null)?.type)} is not one of ${JSON.stringify([...this.#types.keys()])}`,
      );
    }
    const parsed = definition.schema.safeParse(event.data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new InvalidArgumentError(
        `event ${definition.type} v${definition.version}: data.${issue.path.join('.')}: ${issue.message}`,
      );
    }
    const body = JSON.stringify(parsed.data) ?? 'null';
    const back = definition.schema.safeParse(JSON.parse(body));
    if (!back.success || JSON.stringify(back.data) !== body) {
      const why = back.success
        ? `the schema makes ${body} into ${JSON.stringify(back.data)}`
        : `data.${back.error.issues[0]!.path.join('.')}: ${back.error.issues[0]!.message}`;
      throw new InvalidArgumentError(
        `event ${definition.type} v${definition.version}: its data would not read back as written, stored as JSON (${why}); an event schema must take its own JSON output back unchanged`,
      );
    }
    const headers: [string, string][] = [
      [EVENT_HEADERS.type, definition.type],
      [EVENT_HEADERS.version, String(definition.version)],
      [EVENT_HEADERS.eventId, envelope.eventId],
    ];
    if (envelope.commandId !== undefined) headers.push([EVENT_HEADERS.commandId, envelope.commandId]);
    if (envelope.correlationId !== undefined)
      headers.push([EVENT_HEADERS.correlationId, envelope.correlationId]);
    if (envelope.causationId !== undefined) headers.push([EVENT_HEADERS.causationId, envelope.causationId]);
    if (envelope.metadata !== undefined)
      headers.push([EVENT_HEADERS.metadata, JSON.stringify(envelope.metadata)]);
    return { headers, body };
  }

  /**
   * The event a record holds, upcast to its type's newest version and checked by that version's schema.
   *
   * @throws EventDecodeError naming the stream, seqNum and type: unknown type, a version without upcaster,
   *   a body that is not JSON, or data the schema refuses.
   */
  decode(record: SequencedRecord, stream: string): RecordedEvent<E> {
    return this.decodeRow(record.seqNum, record.timestamp, record.headers, record.body, stream);
  }

  /** {@link decode} of a record given as its parts, headers as `[name, value]` pairs. @internal */
  decodeRow(
    seqNum: number,
    timestamp: number,
    headers: readonly (readonly [string, string])[] | null,
    body: string | null,
    stream: string,
  ): RecordedEvent<E> {
    const values = new Array<string | undefined>(HEADER_ORDER.length);
    for (const [name, value] of headers ?? []) {
      const index = HEADER_INDEX.get(name);
      if (index !== undefined) values[index] = value; // the last one of a name counts
    }
    return this.#decode(seqNum, timestamp, body, stream, values);
  }

  /**
   * {@link decode} of a record given as its parts, its headers as Postgres prints a text[] of names and values
   * (what loads read): the event's headers are picked from the text, with no pairs made. @internal
   */
  decodeText(
    seqNum: number,
    timestamp: number,
    headers: string | null,
    body: string | null,
    stream: string,
  ): RecordedEvent<E> {
    if (headers !== null && pickTextHeaders(headers, HEADER_ORDER, picked)) {
      return this.#decode(seqNum, timestamp, body, stream, picked);
    }
    const pairs = headers === null ? null : textHeaderPairs(headers);
    return this.decodeRow(seqNum, timestamp, pairs, body, stream);
  }

  /** The event of a record whose headers' values are given in {@link HEADER_ORDER}. */
  #decode(
    seqNum: number,
    timestamp: number,
    body: string | null,
    stream: string,
    headers: readonly (string | undefined)[],
  ): RecordedEvent<E> {
    // Taken out first: `headers` may be the codec's shared array, and schemas and upcasters are user code.
    const [type, version, eventId, commandId, correlationId, causationId, metadata] = headers;
    if (type === undefined) {
      throw decodeError(
        stream,
        seqNum,
        type,
        'missing_type',
        'the record has no type header: it is not an event',
      );
    }
    const definition = this.#types.get(type);
    if (!definition) {
      throw decodeError(
        stream,
        seqNum,
        type,
        'unknown_type',
        `the type is not one of ${JSON.stringify([...this.#types.keys()])}`,
      );
    }
    const stored = version === undefined ? NaN : Number(version);
    if (!Number.isSafeInteger(stored) || stored < 1 || stored > definition.version) {
      throw decodeError(
        stream,
        seqNum,
        type,
        'bad_version',
        `version ${JSON.stringify(version)} is not a version from 1 to ${definition.version}`,
      );
    }
    let data = parseJson(body, stream, seqNum, type, 'body');
    for (let v = stored; v < definition.version; v++) {
      const upcast: Upcaster | undefined = definition.upcast[v];
      if (!upcast) {
        throw decodeError(
          stream,
          seqNum,
          type,
          'no_upcaster',
          `no upcaster from version ${v} to ${v + 1} is registered`,
        );
      }
      data = upcast(data as never);
    }
    const parsed = definition.schema.safeParse(data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw decodeError(
        stream,
        seqNum,
        type,
        'invalid_data',
        `data.${issue.path.join('.')}: ${issue.message} (schema of version ${definition.version})`,
      );
    }
    // Optional envelope fields are present only when stored, so a decoded event equals its read-back.
    const event: Record<string, unknown> = {
      type,
      data: parsed.data,
      streamName: stream,
      seqNum,
      timestamp,
      version: stored,
      eventId: eventId ?? '',
    };
    if (commandId !== undefined) event.commandId = commandId;
    if (correlationId !== undefined) event.correlationId = correlationId;
    if (causationId !== undefined) event.causationId = causationId;
    if (metadata !== undefined) event.metadata = parseJson(metadata, stream, seqNum, type, 'metadata');
    return event as unknown as RecordedEvent<E>;
  }
}

/** The headers an event is made from, in the order the codec's decoding passes their values. */
const HEADER_ORDER = [
  EVENT_HEADERS.type,
  EVENT_HEADERS.version,
  EVENT_HEADERS.eventId,
  EVENT_HEADERS.commandId,
  EVENT_HEADERS.correlationId,
  EVENT_HEADERS.causationId,
  EVENT_HEADERS.metadata,
] as const;
const HEADER_INDEX = new Map<string, number>(HEADER_ORDER.map((name, index) => [name, index]));
/** Where {@link EventCodec.decodeText} picks the values into: one array for every codec, read at once. */
const picked: (string | undefined)[] = new Array<string | undefined>(HEADER_ORDER.length);

/** The event id of a record the codec made (its `event-id` header). */
export function eventIdOf(record: AppendRecord): string {
  return String(record.headers!.find(([name]) => name === EVENT_HEADERS.eventId)![1]);
}

function decodeError(
  stream: string,
  seqNum: number,
  type: string | undefined,
  reason: EventDecodeReason,
  message: string,
): EventDecodeError {
  return new EventDecodeError({ stream, seqNum, type, reason }, message);
}

function parseJson(
  text: string | null,
  stream: string,
  seqNum: number,
  type: string | undefined,
  what: string,
): unknown {
  if (text === null) {
    throw new EventDecodeError({ stream, seqNum, type, reason: 'bad_json' }, `the ${what} is not UTF-8 text`);
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new EventDecodeError({ stream, seqNum, type, reason: 'bad_json' }, `the ${what} is not JSON`, {
      cause,
    });
  }
}
