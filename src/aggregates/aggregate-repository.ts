import { randomUUID } from 'node:crypto';
import type { EventLog } from '../log/event-log.js';
import { FencepostError } from '../log/errors.js';
import { contextOf } from '../log/log-context.js';
import type { Stream } from '../log/stream.js';
import type { AppendAck, AppendRecord } from '../log/types.js';
import type { AggregateDefinition } from './define-aggregate.js';
import type { AnyEvent } from './define-event.js';
import type { EventEnvelope, RecordedEvent } from './recorded-event.js';
import { snapshotDifference } from './snapshot-fidelity.js';
import { SnapshotStore, type SnapshotKey } from './snapshot-store.js';
import { EventReader, type EventHead, type EventRow } from './event-reader.js';
import { eventIdOf } from './event-codec.js';

/** Records per read of a load. Each record is folded as it arrives, so this bounds a statement, not memory. */
const PAGE = 10_000;

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
  readonly #reader: EventReader;
  /** Whether a state that no snapshot can hold was reported. */
  #warnedSnapshot = false;

  constructor(log: EventLog, aggregate: AggregateDefinition<State, E, Command>) {
    this.#log = log;
    this.aggregate = aggregate;
    // The log's own view of its pool: closing the log settles these statements with its own.
    const { pool } = contextOf(log);
    this.#snapshots = aggregate.snapshots ? new SnapshotStore(pool, log.schema) : undefined;
    this.#reader = new EventReader(pool, log.schema);
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
   * (read in the same round trip as the first page of events) and replays the events after it; when that
   * replay passed `snapshots.every` events, stores a new one.
   *
   * @throws EventDecodeError for a record that is not one of the aggregate's events (nothing is skipped),
   *   FencepostError `stream_gap` when records the state needs were trimmed, StorageError.
   */
  async load(id: string): Promise<LoadedAggregate<State>> {
    const stream = this.stream(id);
    const snapshots = this.aggregate.snapshots;
    const { state, version, from, streamId } = await this.#replay(stream, null);
    if (snapshots && this.#snapshots && streamId !== undefined && version - from >= snapshots.every) {
      const json = this.#snapshotJson(state);
      if (json !== undefined) {
        await this.#snapshots
          .write(streamId, this.#snapshotKey(snapshots.schemaVersion), { version, json })
          .catch(() => undefined); // a snapshot is a cache: failing to store one fails no load
      }
    }
    return { state, version };
  }

  /**
   * The state after the events below `version` (for reading back an earlier outcome).
   *
   * @throws as {@link load}.
   */
  async loadAt(id: string, version: number): Promise<LoadedAggregate<State>> {
    const { state, version: at } = await this.#replay(this.stream(id), version);
    return { state, version: at };
  }

  /**
   * The events of an aggregate in seqNums `start` (inclusive) to `end` (exclusive), decoded.
   *
   * @throws as {@link load}.
   */
  async events(id: string, start: number, end: number): Promise<RecordedEvent<E>[]> {
    const stream = this.stream(id);
    const events: RecordedEvent<E>[] = [];
    let next = start;
    const decode = ([seqNum, , , headers, body, timestamp]: EventRow): void => {
      events.push(this.aggregate.codec.decodeText(seqNum, timestamp, headers, body, stream.name));
      next = seqNum + 1;
    };
    while (next < end) {
      const read = await this.#reader.scan(
        stream.basin,
        stream.name,
        next,
        null,
        end,
        PAGE,
        () => true,
        decode,
      );
      if (!read || read.count === 0) break;
    }
    return events;
  }

  /**
   * Appends events with `matchSeqNum: version`, each with a new event id and the given envelope, and
   * returns them as recorded. Given `state`, the state at `version` (a loaded aggregate can be passed as it
   * is), it takes a snapshot of the state after the events when the new version passes a multiple of
   * `snapshots.every`; a snapshot that cannot be stored fails nothing.
   *
   * @throws InvalidArgumentError (an event its schema refuses; nothing written), SeqNumMismatchError (the
   *   stream moved on), IndefiniteAppendError, and the rest of `Stream.append`'s errors.
   * @example
   * const loaded = await repository.load('42');
   * await repository.save('42', [{ type: 'Deposited', data: { amount: 5, currency: 'EUR' } }], loaded);
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
    const { state } = options;
    if (state !== undefined) {
      const last = eventIdOf(records[records.length - 1]!);
      await this.snapshotAfter(
        id,
        options.version,
        ack.end.seqNum,
        () => this.evolveAll(state, recorded),
        last,
      );
    }
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

  /** The fold of `events` onto a state, which stays as it was (it may be shared: cached, or handed out). */
  evolveAll(state: State, events: readonly E[]): State {
    if (events.length === 0) return state;
    // The first evolve makes a new state; the rest may change that one in place.
    let next = this.aggregate.evolve(state, events[0]!);
    for (let i = 1; i < events.length; i++) next = this.aggregate.evolveOwned(next, events[i]!);
    return next;
  }

  /**
   * After an append that took the stream from version `before` to `after` and whose last event has the id
   * `lastEventId`: stores `state()`, the state at `after`, as a snapshot when the version went past a multiple
   * of `every`. Only on the stream whose record `after - 1` is that event (never on one deleted and created
   * again meanwhile). Never throws: a snapshot is a cache, and the append is done. @internal
   */
  async snapshotAfter(
    id: string,
    before: number,
    after: number,
    state: () => State,
    lastEventId: string,
  ): Promise<void> {
    const snapshots = this.aggregate.snapshots;
    if (!snapshots || !this.#snapshots) return;
    if (Math.floor(after / snapshots.every) === Math.floor(before / snapshots.every)) return;
    try {
      const json = this.#snapshotJson(state());
      if (json === undefined) return;
      const stream = this.stream(id);
      await this.#snapshots.writeAfterAppend(
        { basin: stream.basin, stream: stream.name, lastEventId },
        this.#snapshotKey(snapshots.schemaVersion),
        { version: after, json },
      );
    } catch {
      // the next load that replays `every` events takes one
    }
  }

  /**
   * The state as a snapshot's JSON, or undefined when it would not load back as it is (read through JSON,
   * `snapshots.schema` and the aggregate's `fromSnapshot`): a `Map` in it, say, would come back `{}`. Such a
   * state is never stored (loads replay its events instead), and the first one is reported with console.warn.
   */
  #snapshotJson(state: State): string | undefined {
    let difference: string | undefined;
    let json: string | undefined;
    try {
      json = JSON.stringify(state);
      if (json === undefined) difference = 'state';
      else {
        const back = this.#stateOfSnapshot(JSON.parse(json));
        difference = back ? snapshotDifference(state, back.state) : 'state (snapshots.schema refuses it)';
      }
    } catch (error) {
      difference = `state (${error instanceof Error ? error.message : String(error)})`;
    }
    if (difference === undefined) return json;
    if (!this.#warnedSnapshot) {
      this.#warnedSnapshot = true;
      console.warn(
        `fencepost: aggregate ${this.aggregate.name}: no snapshot is stored, as its state would not load back as it is` +
          ` from JSON (at ${difference}); loads replay the events instead. Keep the state to JSON data, or give` +
          ` snapshots.schema that revives it (z.coerce.date(), say).`,
      );
    }
    return undefined;
  }

  /** The state a snapshot's stored data stands for; undefined when `snapshots.schema` refuses the data. */
  #stateOfSnapshot(data: unknown): { state: State } | undefined {
    const parsed = this.aggregate.snapshots?.schema?.safeParse(data);
    if (parsed?.success === false) return undefined;
    return { state: this.aggregate.fromSnapshot(parsed ? parsed.data : data) };
  }

  #snapshotKey(schemaVersion: number): SnapshotKey {
    return { aggregate: this.aggregate.name, schemaVersion };
  }

  /**
   * Replays the stream up to `end` (default: the tail), from the newest valid snapshot at or below it when
   * the aggregate takes snapshots. `from` is where the replayed events started.
   */
  async #replay(
    stream: Stream,
    end: number | null,
  ): Promise<LoadedAggregate<State> & { from: number; streamId?: number }> {
    const { codec, evolveOwned: evolve, snapshots } = this.aggregate;
    const { basin, name } = stream;
    let state = this.aggregate.initialState();
    let from = 0;
    let version = 0;
    let stop = 0;
    // Each record is decoded and folded as it arrives, never kept: memory stays flat, and garbage dies young.
    const fold = ([seqNum, , , headers, body, timestamp]: EventRow): void => {
      if (seqNum !== version) throw gap(name, version, seqNum);
      state = evolve(state, codec.decodeText(seqNum, timestamp, headers, body, name));
      version = seqNum + 1;
    };
    // The first read also brings the newest snapshot (when the aggregate takes them); a snapshot its state
    // schema refuses is passed over, and the events are read again from the start.
    let refused = false;
    const start = (head: EventHead, snapshot: boolean): boolean => {
      if (snapshot && head.snapshot) {
        // The state is what the state schema makes of the stored JSON (dates revived, say), as a replay has it.
        const revived = this.#stateOfSnapshot(head.snapshot.state);
        refused = revived === undefined;
        if (!revived) return false;
        state = revived.state;
        from = version = head.snapshot.version;
      }
      stop = end === null ? head.nextSeq : Math.min(end, head.nextSeq);
      if (head.trimPoint > from && from < stop) throw gap(name, from, head.trimPoint);
      return true;
    };
    const key = snapshots ? this.#snapshotKey(snapshots.schemaVersion) : null;
    let read = await this.#reader.scan(basin, name, 0, key, end, PAGE, (h) => start(h, true), fold);
    if (refused)
      read = await this.#reader.scan(basin, name, 0, null, end, PAGE, (h) => start(h, false), fold);
    if (!read) return { state, version: 0, from: 0 };
    const streamId = read.head.streamId;
    while (version < stop && read.count > 0) {
      const next = await this.#reader.scan(basin, name, version, null, stop, PAGE, () => true, fold);
      if (!next) break;
      read = next;
    }
    if (version < stop) throw gap(name, version, stop);
    return { state, version, from, streamId };
  }
}

/** Records a state needs are gone (trimmed below the trim point, or the stream deleted while loading). */
function gap(stream: string, from: number, to: number): FencepostError {
  return new FencepostError(
    'stream_gap',
    `stream ${JSON.stringify(stream)} has no records ${from}–${to - 1} (trimmed?): the aggregate cannot be rebuilt`,
  );
}
