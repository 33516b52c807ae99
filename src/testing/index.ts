/**
 * fencepost/testing: helpers for testing code built on fencepost.
 *
 * @example
 * import { createFencepostTestingModule } from 'fencepost/testing';
 * const testing = await createFencepostTestingModule({ imports: [AppModule] });
 */
export {
  createFencepostTestingModule,
  type FencepostTestingModule,
  type FencepostTestingOptions,
} from './fencepost-testing-module.js';
