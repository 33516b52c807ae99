import { type DynamicModule, Module } from '@nestjs/common';
import { aggregateFeatureProviders, type AggregateFeature } from './aggregate-feature.js';
import type { FencepostModuleOptions } from './fencepost-module-options.js';
import { FencepostCoreModule } from './fencepost-core.module.js';
import type { FencepostModuleAsyncOptions } from './fencepost.module-definition.js';

/**
 * fencepost for NestJS. `forRoot` (once, in the root module) connects the {@link EventLog} and provides it and
 * the {@link CommandBus} to the whole application; `forFeature` registers aggregates, giving each a
 * repository and a command handler to inject with `@InjectAggregateRepository(A)` / `@InjectCommandHandler(A)`.
 *
 * @example
 * @Module({
 *   imports: [
 *     FencepostModule.forRootAsync({
 *       useFactory: (config: ConfigService) => ({ connectionString: config.get('DATABASE_URL') }),
 *       inject: [ConfigService],
 *     }),
 *     FencepostModule.forFeature([Account]),
 *   ],
 *   providers: [DepositHandler],
 * })
 * export class BankModule {}
 */
@Module({})
export class FencepostModule {
  /** Connects with fixed options; see {@link FencepostModuleOptions}. */
  static forRoot(options: FencepostModuleOptions = {}): DynamicModule {
    return { module: FencepostModule, imports: [FencepostCoreModule.forRoot(options)] };
  }

  /** Connects with options made by a factory (`useFactory` + `inject`), `useClass` or `useExisting`. */
  static forRootAsync(options: FencepostModuleAsyncOptions): DynamicModule {
    return { module: FencepostModule, imports: [FencepostCoreModule.forRootAsync(options)] };
  }

  /**
   * Registers aggregates: for each, an `AggregateRepository` and a `CommandHandler` (with the retry policy
   * given next to it, if any) on the root module's log, exported to the importing module.
   *
   * @throws InvalidArgumentError for an item that is not an aggregate definition, or a name listed twice.
   * @example
   * FencepostModule.forFeature([Account, { aggregate: Ledger, retry: { maxAttempts: 20 } }]);
   */
  static forFeature(aggregates: readonly AggregateFeature[]): DynamicModule {
    const providers = aggregateFeatureProviders(aggregates);
    return { module: FencepostModule, providers, exports: providers };
  }
}
