/**
 * fencepost/testing: helpers for testing code built on fencepost.
 *
 * @example
 * import { DeciderSpec, createFencepostTestingModule } from 'fencepost/testing';
 * DeciderSpec.for(Account).given([...]).when(command).then([...]);
 * const testing = await createFencepostTestingModule({ imports: [AppModule] });
 */
export { DeciderSpec, DeciderOutcome, type ExpectedState } from './decider-spec.js';
export {
  createFencepostTestingModule,
  type FencepostTestingModule,
  type FencepostTestingOptions,
} from './fencepost-testing-module.js';
