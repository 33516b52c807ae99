import { randomUUID } from 'node:crypto';
import type { EventLog } from '../log/event-log.js';
import { FencepostError, RangeNotSatisfiableError, StreamNotFoundError } from '../log/errors.js';
import type { Stream } from '../log/stream.js';
import type { AppendAck, AppendRecord } from '../log/types.js';
import type { AggregateDefinition } from './define-aggregate.js';
import type { AnyEvent } from './define-event.js';
import type { EventEnvelope, RecordedEvent } from './recorded-event.js';
import { SnapshotStore } from './snapshot-store.js';

/** An aggregate as loaded: its state and its version, the stream's next seqNum (0: no events yet). */
export interface LoadedAggregate<State> {
  state: State;
  version: number;
}

/** What events are stamped with when saved. */
export type SaveEnvelope = Omit<EventEnvelope, 'eventId'>;

/** The outcome of {@link AggregateRepository.save}. */
export interface SavedEvents<E extends AnyEvent> {
  /** The stream's next seqNum after the events. */
  version: number;
  events: RecordedEvent<E>[];
}

/**
 * Loads aggregates by replaying their streams (from the newest valid snapshot when the aggregate takes
 * snapshots) and saves their new events with a conditional append.
 *
 * @example
 * const repository = new AggregateRepository(log, Account);
 * const { state, version } = await repository.load('42');
 * await repository.save('42', [{ type: 'Deposited', data: { amount: 5, currency: 'EUR' } }], { version });
 */
export class AggregateRepository<State, E extends AnyEvent, Command> {
  readonly #log: EventLog;
  readonly aggregate: AggregateDefinition<State, E, Command>;
  readonly #snapshots: SnapshotStore | undefined;

  constructor(log: EventLog, aggregate: AggregateDefinition<State, E, Command>) {
    this.#log = log;
    this.aggregate = aggregate;
    this.#snapshots = aggregate.snapshots ? new SnapshotStore(log.pool, log.schema) : undefined;
  }

  /** The stream name of an aggregate id (`aggregate.streamName(id)`, `<name>-<id>` by default). */
  streamName(id: string): string {
    return this.aggregate.streamName(id);
  }

  /** The log stream of an aggregate id. @throws InvalidArgumentError for a bad stream name. */
  stream(id: string): Stream {
    return this.#log.stream(this.streamName(id));
  }

  /**
   * The aggregate's current state and version. A missing stream is an aggregate with no events (the initial
   * state, version 0). With snapshots, starts from the newest snapshot of the current state schema version
   * and replays the events after it; when that replay passed `snapshots.every` events, stores a new one.
   *
   * @throws EventDecodeError for a record that is not one of the aggregate's events (nothing is skipped),
   *   FencepostError `stream_gap` when records the state needs were trimmed, StorageError.
   */
  async load(id: string): Promise<LoadedAggregate<State>> {
    const stream = this.stream(id);
    const snapshots = this.aggregate.snapshots;
    let from: LoadedAggregate<State> | undefined;
    if (snapshots && this.#snapshots) {
      const snapshot = await this.#snapshots.read(stream.basin, stream.name, snapshots.schemaVersion);
      if (snapshot && (!snapshots.schema || snapshots.schema.safeParse(snapshot.state).success)) {
        from = { state: snapshot.state as State, version: snapshot.version };
      }
    }
    let loaded: LoadedAggregate<State>;
    try {
      loaded = await this.#fold(stream, from ?? this.#initial(), Infinity);
    } catch (error) {
      // A snapshot beyond the tail belongs to records that are gone: replay instead of trusting it.
      if (!(from && error instanceof RangeNotSatisfiableError)) throw error;
      from = undefined;
      loaded = await this.#fold(stream, this.#initial(), Infinity);
    }
    if (snapshots && this.#snapshots && loaded.version - (from?.version ?? 0) >= snapshots.every) {
      await this.#snapshots.write(stream.basin, stream.name, snapshots.schemaVersion, loaded);
    }
    return loaded;
  }

  /**
   * The state after the events below `version` (a full replay; for reading back an earlier outcome).
   *
   * @throws as {@link load}.
   */
  async loadAt(id: string, version: number): Promise<LoadedAggregate<State>> {
    return this.#fold(this.stream(id), this.#initial(), version);
  }

  /**
   * The events of an aggregate in seqNums `start` (inclusive) to `end` (exclusive), decoded.
   *
   * @throws as {@link load}.
   */
  async events(id: string, start: number, end: number): Promise<RecordedEvent<E>[]> {
    const stream = this.stream(id);
    const events: RecordedEvent<E>[] = [];
    if (end <= start) return events;
    for await (const record of stream.readSession({ seqNum: start, count: end - start })) {
      events.push(this.aggregate.codec.decode(record, stream.name));
    }
    return events;
  }

  /**
   * Appends events with `matchSeqNum: version`, each with a new event id and the given envelope, and
   * returns them as recorded. Takes a snapshot when the new version passes a multiple of `snapshots.every`.
   *
   * @throws InvalidArgumentError (an event its schema refuses; nothing written), SeqNumMismatchError (the
   *   stream moved on), IndefiniteAppendError, and the rest of `Stream.append`'s errors.
   */
  async save(
    id: string,
    events: readonly E[],
    options: { version: number; state?: State } & SaveEnvelope,
  ): Promise<SavedEvents<E>> {
    const stream = this.stream(id);
    const records = this.encode(events, options);
    const ack = await stream.append(records, { matchSeqNum: options.version });
    const recorded = this.recorded(stream.name, records, ack);
    if (options.state !== undefined)
      await this.snapshotAfter(id, options.version, ack.end.seqNum, options.state);
    return { version: ack.end.seqNum, events: recorded };
  }

  /** The records of events, each with a new event id. @throws InvalidArgumentError. @internal */
  encode(events: readonly E[], envelope: SaveEnvelope): AppendRecord[] {
    return events.map((event) => this.aggregate.codec.encode(event, { ...envelope, eventId: randomUUID() }));
  }

  /** The events as recorded by an ack: decoded from what was written, as a read would return them. @internal */
  recorded(streamName: string, records: readonly AppendRecord[], ack: AppendAck): RecordedEvent<E>[] {
    return records.map((record, i) =>
      this.aggregate.codec.decode(
        {
          seqNum: ack.start.seqNum + i,
          timestamp: ack.end.timestamp,
          headers: record.headers as [string, string][],
          body: record.body as string,
        },
        streamName,
      ),
    );
  }

  /** The fold of `events` onto a state. */
  evolveAll(state: State, events: readonly E[]): State {
    let next = state;
    for (const event of events) next = this.aggregate.evolve(next, event);
    return next;
  }

  /** Stores a snapshot when the version went past a multiple of `every`. @internal */
  async snapshotAfter(id: string, before: number, after: number, state: State): Promise<void> {
    const snapshots = this.aggregate.snapshots;
    if (!snapshots || !this.#snapshots) return;
    if (Math.floor(after / snapshots.every) === Math.floor(before / snapshots.every)) return;
    const stream = this.stream(id);
    await this.#snapshots.write(stream.basin, stream.name, snapshots.schemaVersion, {
      version: after,
      state,
    });
  }

  #initial(): LoadedAggregate<State> {
    return { state: this.aggregate.initialState(), version: 0 };
  }

  async #fold(stream: Stream, from: LoadedAggregate<State>, end: number): Promise<LoadedAggregate<State>> {
    const { codec, evolve } = this.aggregate;
    let { state, version } = from;
    const count = end - version;
    if (count <= 0) return { state, version };
    try {
      for await (const record of stream.readSession({
        seqNum: version,
        ...(count === Infinity ? {} : { count }),
      })) {
        if (record.seqNum !== version) {
          throw new FencepostError(
            'stream_gap',
            `stream ${JSON.stringify(stream.name)} has no records ${version}–${record.seqNum - 1} (trimmed?): the aggregate cannot be rebuilt`,
          );
        }
        state = evolve(state, codec.decode(record, stream.name));
        version = record.seqNum + 1;
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError && version === 0) return { state, version };
      throw error;
    }
    return { state, version };
  }
}
