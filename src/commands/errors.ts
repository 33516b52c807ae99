import { FencepostError } from '../log/errors.js';

/**
 * A command lost the race for its aggregate's stream on every attempt its retry policy allowed (HTTP 409).
 * Nothing was appended by it. `cause` is the last `SeqNumMismatchError`.
 */
export class ConcurrencyConflictError extends FencepostError {
  readonly attempts: number;
  readonly stream: string | undefined;

  constructor(attempts: number, stream: string | undefined, options: { cause?: unknown }) {
    super(
      'concurrency_conflict',
      `the command lost the race for stream ${JSON.stringify(stream)} on all ${attempts} attempts; nothing was appended`,
      options,
    );
    this.attempts = attempts;
    this.stream = stream;
  }
}
