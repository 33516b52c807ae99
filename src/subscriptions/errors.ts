import { FencepostError } from '../log/errors.js';
import type { Cursor } from './cursor.js';

/**
 * A consumer's batch was not committed because its checkpoint changed meanwhile: another instance of the
 * same consumer committed first, or the consumer was reset. The whole batch was rolled back; `cursor` and
 * `version` are the checkpoint as it is now.
 *
 * @example
 * catch (e) { if (e instanceof ConsumerConflictError) console.warn(`${e.consumer} moved on to ${e.cursor}`); }
 */
export class ConsumerConflictError extends FencepostError {
  readonly consumer: string;
  readonly basin: string;
  readonly expectedVersion: number;
  readonly version: number;
  readonly cursor: Cursor;

  constructor(basin: string, consumer: string, expectedVersion: number, version: number, cursor: Cursor) {
    super(
      'consumer_conflict',
      `consumer ${JSON.stringify(consumer)} of basin ${JSON.stringify(basin)}: its checkpoint is at version ` +
        `${version} (${cursor}), not ${expectedVersion} as this instance expected: another instance committed ` +
        `first or the consumer was reset; this batch was rolled back`,
    );
    this.consumer = consumer;
    this.basin = basin;
    this.expectedVersion = expectedVersion;
    this.version = version;
    this.cursor = cursor;
  }
}

/**
 * A running consumer's checkpoint was deleted (`log.consumers.delete`, or its basin was deleted), so it
 * stopped at its next batch, which was rolled back, instead of starting over from the beginning of the basin.
 * `cursor` is the checkpoint as this instance last knew it. Running the consumer again starts it afresh, at the
 * start (or where `log.consumers.reset` puts it).
 *
 * @example
 * catch (e) { if (e instanceof ConsumerDeletedError) console.info(`${e.consumer} was deleted at ${e.cursor}`); }
 */
export class ConsumerDeletedError extends FencepostError {
  readonly consumer: string;
  readonly basin: string;
  readonly cursor: Cursor;

  constructor(basin: string, consumer: string, cursor: Cursor) {
    super(
      'consumer_deleted',
      `consumer ${JSON.stringify(consumer)} of basin ${JSON.stringify(basin)} was deleted while this instance ` +
        `ran (its checkpoint was at ${cursor}, as far as it knew): it stopped, and its batch was rolled back`,
    );
    this.consumer = consumer;
    this.basin = basin;
    this.cursor = cursor;
  }
}

/**
 * A consumer's handler failed on a batch every time it was tried, so the consumer stopped there (nothing is
 * skipped). `cursor` is its checkpoint: the batch starting at `stream`/`seqNum` just after it was not
 * committed. `cause` is the handler's last error; with `park`, when parking that record failed too
 * (`parkAttempts` times), the last parking failure.
 */
export class ConsumerHandlerError extends FencepostError {
  readonly consumer: string;
  readonly basin: string;
  readonly cursor: Cursor;
  readonly stream: string;
  readonly seqNum: number;
  readonly attempts: number;
  /** How many times parking the record failed (0 when it was not parked). */
  readonly parkAttempts: number;

  constructor(
    at: {
      basin: string;
      consumer: string;
      cursor: Cursor;
      stream: string;
      seqNum: number;
      attempts: number;
      parkAttempts?: number;
    },
    cause: unknown,
  ) {
    const parkAttempts = at.parkAttempts ?? 0;
    super(
      'consumer_handler_failed',
      `consumer ${JSON.stringify(at.consumer)} of basin ${JSON.stringify(at.basin)} stopped at ${at.cursor}: ` +
        `its handler failed ${at.attempts} time(s) on the batch starting at stream ${JSON.stringify(at.stream)} ` +
        `seqNum ${at.seqNum}` +
        (parkAttempts > 0 ? `, and parking it failed ${parkAttempts} time(s)` : '') +
        `: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.consumer = at.consumer;
    this.basin = at.basin;
    this.cursor = at.cursor;
    this.stream = at.stream;
    this.seqNum = at.seqNum;
    this.attempts = at.attempts;
    this.parkAttempts = parkAttempts;
  }
}

/**
 * `EventLog.connect` found commit keys ahead of the cluster's transaction ids: the log was copied from a
 * cluster further along (pg_dump/pg_restore, a logical-replication switchover), and its followers and
 * consumers would stall, without a report naming a transaction, until this cluster's transaction ids passed
 * `commitKey`. Nothing was changed. Move a log with physical replication (which keeps the counter), or set
 * the target cluster's next transaction id above `commitKey` before using it (`pg_resetwal -e/-x`, offline).
 *
 * @example
 * catch (e) { if (e instanceof CommitKeysAheadError) console.error(e.commitKey, e.nextXid); }
 */
export class CommitKeysAheadError extends FencepostError {
  readonly schema: string;
  /** The highest commit key in the log (an xid8, as decimal text). */
  readonly commitKey: string;
  /** The cluster's next transaction id when checked (an xid8, as decimal text). */
  readonly nextXid: string;

  constructor(schema: string, commitKey: string, nextXid: string) {
    super(
      'commit_keys_ahead',
      `the log in schema ${JSON.stringify(schema)} holds commit keys up to ${commitKey}, but this cluster's next ` +
        `transaction id is ${nextXid}: the log was written by a cluster further along (copied by ` +
        `pg_dump/pg_restore or logical replication?), and its followers and consumers would stall until ` +
        `this cluster's transaction ids pass ${commitKey}`,
    );
    this.schema = schema;
    this.commitKey = commitKey;
    this.nextXid = nextXid;
  }
}
