/**
 * fencepost/testing: helpers for testing code built on fencepost.
 *
 * @example
 * import { DeciderSpec } from 'fencepost/testing';
 * DeciderSpec.for(Account).given([...]).when(command).then([...]);
 */
export { DeciderSpec, DeciderOutcome } from './decider-spec.js';
