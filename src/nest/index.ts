/**
 * fencepost/nest: NestJS wiring for fencepost (modules, injection decorators, command bus, exception filter).
 *
 * @example
 * import { FencepostModule, CommandBus, FencepostExceptionFilter } from 'fencepost/nest';
 */
import 'reflect-metadata';

export { FencepostModule } from './fencepost.module.js';
export { FencepostCoreModule } from './fencepost-core.module.js';
export { type AggregateFeature, type RepositoryOf, type CommandsOf } from './aggregate-feature.js';
export { getAggregateRepositoryToken, getCommandHandlerToken } from './fencepost.tokens.js';
export { InjectAggregateRepository } from './inject-aggregate-repository.decorator.js';
export { InjectCommandHandler } from './inject-command-handler.decorator.js';
export type { FencepostModuleOptions } from './fencepost-module-options.js';
export { FENCEPOST_MODULE_OPTIONS, type FencepostModuleAsyncOptions } from './fencepost.module-definition.js';
export { Command, type CommandType, type HandlesCommand, type ResultOf } from './command.js';
export { CommandHandler } from './command-handler.decorator.js';
export { CommandBus } from './command-bus.js';
export { CommandHandlerNotFoundError, InvalidCommandHandlerError } from './command-bus-errors.js';
export { FencepostExceptionFilter } from './fencepost-exception.filter.js';
export { httpErrorOf, HTTP_STATUS_BY_CODE, type FencepostHttpError } from './fencepost-http-error.js';
