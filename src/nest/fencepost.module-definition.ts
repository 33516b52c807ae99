import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { FencepostModuleOptions } from './fencepost-module-options.js';

const definition = new ConfigurableModuleBuilder<FencepostModuleOptions>({ moduleName: 'Fencepost' })
  .setClassMethodName('forRoot')
  .build();

/** The base class `ConfigurableModuleBuilder` made: gives the core module `forRoot` and `forRootAsync`. */
export const ConfigurableFencepostModule = definition.ConfigurableModuleClass;

/**
 * The injection token of the resolved {@link FencepostModuleOptions}. Tests may override it
 * (`overrideProvider(FENCEPOST_MODULE_OPTIONS).useValue({...})`) to point an application at another database;
 * `createFencepostTestingModule` does exactly that.
 */
export const FENCEPOST_MODULE_OPTIONS = definition.MODULE_OPTIONS_TOKEN;

/** What `FencepostModule.forRootAsync` takes: `useFactory` + `inject` + `imports`, `useClass` or `useExisting`. */
export type FencepostModuleAsyncOptions = typeof definition.ASYNC_OPTIONS_TYPE;
