import { EventLog } from '../log/event-log.js';
import { InvalidArgumentError } from '../log/errors.js';
import type { FencepostModuleOptions } from './fencepost-module-options.js';

/**
 * Connects the module's {@link EventLog}; the factory behind the `EventLog` provider. Bad options are reported
 * as the module's, so the message says where to look.
 *
 * @throws InvalidArgumentError naming the bad option; StorageError when the database cannot be reached or a
 *   migration fails.
 */
export async function connectEventLog(options: FencepostModuleOptions): Promise<EventLog> {
  try {
    return await EventLog.connect(options ?? {});
  } catch (error) {
    if (error instanceof InvalidArgumentError) {
      throw new InvalidArgumentError(`FencepostModule options: ${error.message}`, { cause: error });
    }
    throw error;
  }
}
