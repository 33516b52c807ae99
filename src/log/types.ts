/** A position in a stream: the sequence number and the timestamp (milliseconds since the epoch) there. */
export interface StreamPosition {
  seqNum: number;
  timestamp: number;
}

/** Bytes as callers give them: a string is encoded as UTF-8. */
export type Bytes = string | Uint8Array;

/** A header is a `[name, value]` pair. A command record has exactly one header, with an empty name. */
export type Header = readonly [name: Bytes, value: Bytes];

/** A record to append. `timestamp` is milliseconds since the epoch; see the stream's timestamping mode. */
export interface AppendRecord {
  body?: Bytes;
  headers?: readonly Header[];
  timestamp?: number;
}

/** Conditions of an append, both optional and both checked under the stream's row lock. */
export interface AppendOptions {
  /** The append succeeds only if the stream's next sequence number equals this. */
  matchSeqNum?: number;
  /** The append succeeds only if the stream's fencing token equals this. */
  fencingToken?: string;
}

/** The acknowledgement of a committed append: `end.seqNum` is one past the last record appended. */
export interface AppendAck {
  start: StreamPosition;
  end: StreamPosition;
  tail: StreamPosition;
}

/** A record as read back; `body` and header values are strings unless read `{ as: 'bytes' }`. */
export interface SequencedRecord<T extends string | Uint8Array = string> {
  seqNum: number;
  timestamp: number;
  headers: [T, T][];
  body: T;
}

/** Where a read starts: exactly one of `seqNum`, `timestamp`, `tailOffset`; none means the tail. */
export interface ReadStart {
  seqNum?: number;
  timestamp?: number;
  tailOffset?: number;
}

/** Bounds of a read. */
export interface ReadLimits {
  /** At most this many records (unary reads: at most 1000, the default). */
  count?: number;
  /** At most this many metered bytes (unary reads: at most 1 MiB, the default). */
  bytes?: number;
  /** Only records with a timestamp below this (exclusive). */
  until?: number;
}

export type ReadAs = 'string' | 'bytes';

export interface ReadOptions<A extends ReadAs = 'string'> extends ReadStart, ReadLimits {
  /** Move a start beyond the tail to the tail instead of failing. */
  clamp?: boolean;
  /** Seconds a read at the tail may wait for records (at most 60). */
  wait?: number;
  as?: A;
  signal?: AbortSignal;
}

export interface ReadBatch<T extends string | Uint8Array = string> {
  records: SequencedRecord<T>[];
  /** The stream's tail when the read ran. */
  tail?: StreamPosition;
}

export type TimestampingMode = 'client-prefer' | 'client-require' | 'arrival';

export interface StreamConfig {
  timestamping?: { mode?: TimestampingMode; uncapped?: boolean };
  retentionPolicy?: { age: number } | { infinite: Record<string, never> };
  deleteOnEmpty?: { minAgeSecs: number };
  storageClass?: 'standard' | 'express';
}

export interface BasinConfig {
  defaultStreamConfig?: StreamConfig;
  createStreamOnAppend?: boolean;
  createStreamOnRead?: boolean;
}

export interface StreamInfo {
  name: string;
  createdAt: Date;
  deletedAt: Date | null;
}

export interface BasinInfo {
  name: string;
  createdAt: Date;
  deletedAt: Date | null;
}

export interface ListOptions {
  prefix?: string;
  startAfter?: string;
  limit?: number;
}
