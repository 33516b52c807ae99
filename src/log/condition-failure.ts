import { FencingTokenMismatchError, SeqNumMismatchError } from './errors.js';
import type { AppendOptions } from './types.js';

/**
 * Which of an append's conditions the stream's current state fails, in S2's order: the fencing token first,
 * then `matchSeqNum`; undefined when both hold. `stream` is named in the error when given (appends to
 * several streams). Used after an append statement matched nothing, on the state read since.
 */
export function conditionFailure(
  current: { nextSeq: number; token: string },
  conditions: AppendOptions,
  stream?: string,
): FencingTokenMismatchError | SeqNumMismatchError | undefined {
  if (conditions.fencingToken !== undefined && conditions.fencingToken !== current.token) {
    return new FencingTokenMismatchError(current.token, conditions.fencingToken, stream);
  }
  if (conditions.matchSeqNum !== undefined && conditions.matchSeqNum !== current.nextSeq) {
    return new SeqNumMismatchError(current.nextSeq, conditions.matchSeqNum, stream);
  }
  return undefined;
}
