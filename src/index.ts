/**
 * fencepost: event sourcing on a Postgres log with S2 stream semantics.
 *
 * @example
 * import { EventLog, SeqNumMismatchError } from 'fencepost';
 * const log = await EventLog.connect({ connectionString: process.env.DATABASE_URL });
 */
export { EventLog } from './log/event-log.js';
export type { ConnectOptions } from './log/connect-options.js';
export { Basin } from './log/basin.js';
export { Basins, DEFAULT_BASIN } from './log/basins.js';
export { Stream } from './log/stream.js';
export { Streams } from './log/streams.js';
export { AppendSession } from './log/append-session.js';
export type { ReadSessionOptions } from './log/read-session.js';
export {
  FencepostError,
  InvalidArgumentError,
  SeqNumMismatchError,
  FencingTokenMismatchError,
  RangeNotSatisfiableError,
  StreamNotFoundError,
  BasinNotFoundError,
  ResourceAlreadyExistsError,
  ClosedError,
  StorageError,
  IndefiniteAppendError,
  DuplicateCommandError,
} from './log/errors.js';
export type { AppendManyItem, AppendManyOptions } from './log/append-many.js';
export type { CommandRange } from './log/lookup-command.js';
export { MAX_BATCH_BYTES, MAX_BATCH_RECORDS, MAX_FENCING_TOKEN_BYTES, meteredSize } from './log/limits.js';
export { migrate } from './db/migrate.js';
export { DEFAULT_SCHEMA } from './db/schema-name.js';
export type * from './log/types.js';

// Aggregates and commands.
export {
  defineEvent,
  type EventDefinition,
  type EventOf,
  type AnyEvent,
  type Upcaster,
} from './aggregates/define-event.js';
export {
  defineAggregate,
  type AggregateDefinition,
  type AggregateSpec,
  type SnapshotOptions,
  type StateOf,
  type EventOfAggregate,
  type CommandOf,
} from './aggregates/define-aggregate.js';
export { AggregateRoot } from './aggregates/aggregate-root.js';
export {
  defineAggregateRoot,
  type AggregateRootSpec,
  type RootCommand,
} from './aggregates/define-aggregate-root.js';
export { EventCodec, EVENT_HEADERS } from './aggregates/event-codec.js';
export type { RecordedEvent, EventEnvelope } from './aggregates/recorded-event.js';
export {
  AggregateRepository,
  type LoadedAggregate,
  type SavedEvents,
  type SaveEnvelope,
} from './aggregates/aggregate-repository.js';
export {
  DomainError,
  EventDecodeError,
  AggregateNotFoundError,
  AggregateAlreadyExistsError,
  type EventDecodeReason,
} from './aggregates/errors.js';
export {
  CommandHandler,
  type CommandHandlerOptions,
  type ItemFor,
  type ResultsOf,
} from './commands/command-handler.js';
export type { CommandOptions, HandleOptions, CommandItem, Expectation } from './commands/command-options.js';
export type { CommandResult, MultiCommandResult } from './commands/command-result.js';
export { ConcurrencyConflictError } from './commands/errors.js';
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from './commands/retry-policy.js';

// The global log and durable consumers.
export type { Cursor } from './subscriptions/cursor.js';
export type { GlobalFilter } from './subscriptions/global-filter.js';
export type {
  GlobalRecord,
  ReadAllOptions,
  ReadAllBatch,
  FollowAllOptions,
  HorizonReport,
  HorizonHolder,
  StallReport,
} from './subscriptions/types.js';
export {
  Consumer,
  type ConsumerOptions,
  type RunOptions,
  type ConsumerRecord,
  type ConsumerBatch,
  type ConsumerHandler,
} from './subscriptions/consumer.js';
export { Consumers, type ConsumerInfo, type ParkedRecord } from './subscriptions/consumers.js';
export {
  CommitKeysAheadError,
  ConsumerConflictError,
  ConsumerDeletedError,
  ConsumerHandlerError,
} from './subscriptions/errors.js';
export { MAX_READ_ALL_RECORDS } from './subscriptions/read-all.js';
