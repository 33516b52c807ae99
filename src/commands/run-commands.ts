import { randomUUID } from 'node:crypto';
import type { AggregateRepository } from '../aggregates/aggregate-repository.js';
import type { AnyEvent } from '../aggregates/define-event.js';
import { AggregateAlreadyExistsError, AggregateNotFoundError } from '../aggregates/errors.js';
import type { EventEnvelope } from '../aggregates/recorded-event.js';
import type { EventLog } from '../log/event-log.js';
import {
  DuplicateCommandError,
  FencepostError,
  IndefiniteAppendError,
  InvalidArgumentError,
  SeqNumMismatchError,
  StorageError,
} from '../log/errors.js';
import type { Stream } from '../log/stream.js';
import type { AppendRecord } from '../log/types.js';
import {
  checkCommandOptions,
  type CommandItem,
  type CommandOptions,
  type Expectation,
} from './command-options.js';
import type { CommandResult } from './command-result.js';
import { ConcurrencyConflictError } from './errors.js';
import { readBack } from './read-back.js';
import { eventIdOf } from '../aggregates/event-codec.js';
import { backoff, type RetryPolicy } from './retry-policy.js';
import type { StateCache } from './state-cache.js';

export type Repository = AggregateRepository<unknown, AnyEvent, unknown>;

/** One aggregate of a command, resolved. @internal */
export interface Target {
  /** The aggregate's name, the stream's basin and name: the key of its cached state. */
  key: string;
  item: CommandItem;
  repository: Repository;
  stream: Stream;
  expect: Expectation;
}

const MAX_ITEMS = 100;

/**
 * Handles a command over one or more aggregates, exactly once: load each → decide → append every stream's
 * events atomically (`appendMany`, each with `matchSeqNum` = its loaded version, the command id recorded in
 * the same transaction). A lost race reloads and decides again, within the retry policy. A command id
 * recorded already (a duplicate, also one that arrives concurrently) and an outcome left unknown by a lost
 * connection are both resolved by reading the original outcome back from the streams, never by appending
 * twice. Aggregates the command leaves unchanged join the append with no records, so their versions are
 * checked under their locks and the command id is recorded on them too; a command that changes nothing is
 * recorded that way when it has an id. Internal: `CommandHandler` calls it.
 *
 * @throws DomainError subclasses from `decide` (never retried), AggregateNotFoundError,
 *   AggregateAlreadyExistsError, ConcurrencyConflictError, InvalidArgumentError (before anything is
 *   written), EventDecodeError, StorageError, IndefiniteAppendError (the outcome could not be resolved).
 */
export async function runCommands(
  log: EventLog,
  items: readonly CommandItem[],
  options: CommandOptions,
  policy: RetryPolicy,
  repositoryOf: (aggregate: CommandItem['aggregate']) => Repository,
  cache: StateCache,
): Promise<{ results: CommandResult[]; duplicate: boolean }> {
  checkCommandOptions(options, 'command options');
  const targets = checkItems(items, repositoryOf);
  const explicit = options.commandId !== undefined;
  const commandId = options.commandId ?? randomUUID();
  const envelope: Omit<EventEnvelope, 'eventId'> = {
    commandId,
    correlationId: options.correlationId ?? commandId,
    causationId: options.causationId ?? commandId,
    ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
  };
  const written = new Set<string>(); // event ids of appends whose outcome was unknown
  // The command may have been applied already: by an earlier call with this id, or by an append of this call
  // whose outcome was unknown and which committed late. Then the original result wins.
  const original = () =>
    explicit || written.size > 0 ? readBack(log, targets, commandId, written) : Promise.resolve(undefined);
  let unresolved = false;
  let fresh = false;
  let last: unknown;
  for (let attempt = 1; attempt <= policy.maxAttempts; attempt++) {
    if (attempt > 1) await backoff(policy, attempt - 1);
    if (unresolved) {
      try {
        const outcome = await readBack(log, targets, commandId, written);
        if (outcome) return outcome;
        unresolved = false; // not applied: appending again is safe (a late commit would fail on the key)
      } catch (error) {
        if (!(error instanceof StorageError)) throw error;
        continue;
      }
    }
    // Cached states are used only until something goes wrong with them: then every state is loaded.
    const cached = targets.map((t) => (fresh ? undefined : cache.get(t.key)));
    const loaded = await Promise.all(targets.map((t, i) => cached[i] ?? t.repository.load(t.item.id)));
    let decided: AnyEvent[][];
    try {
      decided = targets.map((t, i) => {
        const { state, version } = loaded[i]!;
        const name = t.item.aggregate.name;
        if (t.expect === 'existing' && version === 0)
          throw new AggregateNotFoundError(name, t.item.id, t.stream.name);
        if (t.expect === 'new' && version > 0)
          throw new AggregateAlreadyExistsError(name, t.item.id, t.stream.name, version);
        return [...t.item.aggregate.decide(t.item.command, state)];
      });
    } catch (error) {
      // A refusal on a cached state may be stale: decide again on loaded states (not a lost race: no wait).
      if (cached.some(Boolean) && error instanceof FencepostError) {
        for (const t of targets) cache.delete(t.key);
        fresh = true;
        attempt--;
        continue;
      }
      // A refusal may be a duplicate's: the state has its effect already. The original result wins.
      if (error instanceof FencepostError) {
        const outcome = await original();
        if (outcome) return outcome;
      }
      throw error;
    }
    const writes = targets.flatMap((_, i) => (decided[i]!.length > 0 ? [i] : []));
    // Every aggregate with events that the command does not change is appended to with no records: its
    // version is checked under its lock with the others (the decision read it), and the command id is
    // recorded on it (a repeat finds it there). One with no events has no stream row to lock or record on.
    const checks = targets.flatMap((_, i) => (decided[i]!.length === 0 && loaded[i]!.version > 0 ? [i] : []));
    const results: CommandResult[] = targets.map((t, i) => ({
      id: t.item.id,
      streamName: t.stream.name,
      state: loaded[i]!.state,
      version: loaded[i]!.version,
      events: [],
      duplicate: false,
    }));
    if (writes.length === 0) {
      // Deciding nothing on a cached state may be stale: decide again on loaded states.
      if (cached.some(Boolean)) {
        for (const t of targets) cache.delete(t.key);
        fresh = true;
        attempt--;
        continue;
      }
      // With no id to record, or nowhere to record it, the loaded states are the result (unless the command
      // was applied already); else the id is recorded below, and the append finds a duplicate out.
      if (!explicit || checks.length === 0) return (await original()) ?? { results, duplicate: false };
    }
    const records: AppendRecord[][] = writes.map((i) => targets[i]!.repository.encode(decided[i]!, envelope));
    try {
      const acks = await log.appendMany(
        [...writes, ...checks].map((i, k) => ({
          basin: targets[i]!.stream.basin,
          stream: targets[i]!.stream.name,
          records: records[k] ?? [],
          matchSeqNum: loaded[i]!.version,
        })),
        { commandId },
      );
      await Promise.all(
        writes.map(async (i, k) => {
          const { repository, stream, item } = targets[i]!;
          const events = repository.recorded(stream.name, records[k]!, acks[k]!);
          const result = results[i]!;
          result.events = events;
          result.state = repository.evolveAll(loaded[i]!.state, events);
          result.version = acks[k]!.end.seqNum;
          cache.set(targets[i]!.key, result.state, result.version);
          const last = eventIdOf(records[k]![records[k]!.length - 1]!);
          await repository.snapshotAfter(
            item.id,
            loaded[i]!.version,
            result.version,
            () => result.state,
            last,
          );
        }),
      );
      // The states the command read without changing were current under their locks.
      for (const i of checks) cache.set(targets[i]!.key, loaded[i]!.state, loaded[i]!.version);
      return { results, duplicate: false };
    } catch (error) {
      last = error;
      for (const t of targets) cache.delete(t.key);
      fresh = true;
      if (error instanceof DuplicateCommandError) {
        const outcome = await readBack(log, targets, commandId, written);
        if (outcome) return outcome;
        throw error;
      }
      if (error instanceof SeqNumMismatchError) {
        const outcome = await original();
        if (outcome) return outcome;
        const target = targets.find((t) => t.stream.name === error.stream);
        if (target?.expect === 'new') {
          throw new AggregateAlreadyExistsError(
            target.item.aggregate.name,
            target.item.id,
            target.stream.name,
            error.expectedSeqNum,
          );
        }
        if (cached.some(Boolean)) attempt--; // a stale cached state, not a lost race: again at once
        continue;
      }
      if (error instanceof IndefiniteAppendError) {
        for (const batch of records) for (const record of batch) written.add(eventIdOf(record));
        unresolved = true;
        continue;
      }
      throw error;
    }
  }
  if (last instanceof SeqNumMismatchError) {
    throw new ConcurrencyConflictError(policy.maxAttempts, last.stream, { cause: last });
  }
  throw last;
}

function checkItems(
  items: readonly CommandItem[],
  repositoryOf: (aggregate: CommandItem['aggregate']) => Repository,
): Target[] {
  if (!Array.isArray(items) || items.length < 1 || items.length > MAX_ITEMS) {
    throw new InvalidArgumentError(
      `a command takes 1–${MAX_ITEMS} aggregates; got ${Array.isArray(items) ? items.length : typeof items}`,
    );
  }
  const seen = new Set<string>();
  return items.map((item, i) => {
    if (item === null || typeof item !== 'object' || !item.aggregate?.codec) {
      throw new InvalidArgumentError(`command item ${i} must be { aggregate, id, command }`);
    }
    if (typeof item.id !== 'string' || item.id.length === 0) {
      throw new InvalidArgumentError(
        `command item ${i}: the aggregate id must be a non-empty string; got ${JSON.stringify(item.id)}`,
      );
    }
    const expect = item.expect ?? 'any';
    if (!['new', 'existing', 'any'].includes(expect)) {
      throw new InvalidArgumentError(
        `command item ${i}: expect must be 'new', 'existing' or 'any'; got ${JSON.stringify(expect)}`,
      );
    }
    const repository = repositoryOf(item.aggregate);
    const stream = repository.stream(item.id);
    const streamKey = `${stream.basin}\u0000${stream.name}`;
    if (seen.has(streamKey)) {
      throw new InvalidArgumentError(
        `command item ${i}: stream ${JSON.stringify(stream.name)} appears twice; one command per aggregate`,
      );
    }
    seen.add(streamKey);
    // Two aggregates may read one stream into states of different shapes: each caches its own.
    return { key: `${item.aggregate.name}\u0000${streamKey}`, item, repository, stream, expect };
  });
}
