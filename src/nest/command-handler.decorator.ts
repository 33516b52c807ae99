import { Injectable } from '@nestjs/common';
import { INJECTABLE_WATERMARK } from '@nestjs/common/constants.js';
import { DiscoveryService } from '@nestjs/core';
import type { CommandType } from './command.js';

/** The discoverable marker behind {@link CommandHandler}; its `KEY` finds the handlers at bootstrap. */
export const commandHandlerMarker = DiscoveryService.createDecorator<CommandType>();

/**
 * Marks a provider as the handler of `command` (a class) for the {@link CommandBus}. The class must also be
 * listed in a module's `providers`; it is found at bootstrap through Nest's `DiscoveryService`. The handler's
 * `execute(command)` is called with the command instance. One handler per command class; a second one fails
 * the bootstrap with `InvalidCommandHandlerError`.
 *
 * @example
 * @CommandHandler(OpenAccount)
 * export class OpenAccountHandler implements HandlesCommand<OpenAccount> {
 *   constructor(@InjectCommandHandler(Account) private readonly accounts: AccountCommands) {}
 *   async execute(command: OpenAccount) { ... }
 * }
 */
export function CommandHandler(command: CommandType): ClassDecorator {
  return (target) => {
    // An @Injectable({ scope }) applied before this one keeps its options (a second Injectable() would reset them).
    if (!Reflect.hasMetadata(INJECTABLE_WATERMARK, target)) Injectable()(target);
    commandHandlerMarker(command)(target);
  };
}
