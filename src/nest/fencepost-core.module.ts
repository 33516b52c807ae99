import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { EventLog } from '../log/event-log.js';
import { CommandBus } from './command-bus.js';
import { connectEventLog } from './connect-event-log.js';
import { ConfigurableFencepostModule, FENCEPOST_MODULE_OPTIONS } from './fencepost.module-definition.js';

/**
 * The global module behind `FencepostModule.forRoot`: provides the {@link EventLog} (connected, and migrated
 * unless `migrate: false`, while the application initialises) and the {@link CommandBus}, and closes the log
 * when the application shuts down (`app.close()`, or a signal with `enableShutdownHooks()`), which ends the pool
 * fencepost made. The log is closed in `onApplicationShutdown`, after every `onModuleDestroy` and
 * `beforeApplicationShutdown` hook, so providers can still use it while they stop.
 */
@Global()
@Module({
  imports: [DiscoveryModule],
  providers: [
    { provide: EventLog, useFactory: connectEventLog, inject: [FENCEPOST_MODULE_OPTIONS] },
    CommandBus,
  ],
  exports: [EventLog, CommandBus],
})
export class FencepostCoreModule extends ConfigurableFencepostModule implements OnApplicationShutdown {
  readonly #log: EventLog;

  constructor(@Inject(EventLog) log: EventLog) {
    super();
    this.#log = log;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.#log.close();
  }
}
