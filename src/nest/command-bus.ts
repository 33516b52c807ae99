import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { CommandType, HandlesCommand, ResultOf } from './command.js';
import { CommandHandlerNotFoundError, InvalidCommandHandlerError } from './command-bus-errors.js';
import { commandHandlerMarker } from './command-handler.decorator.js';

/**
 * Sends a command to the provider marked `@CommandHandler(ItsClass)` and returns what that handler returns.
 * Handlers are found once, when the module initialises (or on the first `execute`, whichever comes first).
 * Routing is by the command's exact class; errors thrown by the handler reach the caller unchanged.
 *
 * @example
 * @Controller('accounts')
 * class AccountsController {
 *   constructor(@Inject(CommandBus) private readonly bus: CommandBus) {}
 *   @Post(':id/deposit')
 *   deposit(@Param('id') id: string, @Body() body: { amount: number }) {
 *     return this.bus.execute(new Deposit(id, body.amount));
 *   }
 * }
 */
@Injectable()
export class CommandBus implements OnModuleInit {
  readonly #discovery: DiscoveryService;
  #handlers: Map<CommandType, HandlesCommand<object>> | undefined;

  constructor(@Inject(DiscoveryService) discovery: DiscoveryService) {
    this.#discovery = discovery;
  }

  /** Finds the handlers now, so a duplicate or request-scoped one fails the bootstrap. */
  onModuleInit(): void {
    this.#handlers ??= this.#explore();
  }

  /**
   * Runs `command` through its handler.
   *
   * @throws CommandHandlerNotFoundError when no handler is registered for the command's class (or the command
   *   is not a class instance); whatever the handler throws.
   */
  async execute<C extends object>(command: C): Promise<ResultOf<C>> {
    const type = typeof command === 'object' && command !== null ? command.constructor : undefined;
    if (type === undefined || type === Object) {
      throw new CommandHandlerNotFoundError(
        type === Object ? 'a plain object' : typeof command,
        'commands are instances of a class marked by @CommandHandler(TheClass)',
      );
    }
    this.#handlers ??= this.#explore();
    const handler = this.#handlers.get(type as CommandType);
    if (!handler) throw new CommandHandlerNotFoundError(type.name);
    return (await handler.execute(command)) as ResultOf<C>;
  }

  #explore(): Map<CommandType, HandlesCommand<object>> {
    const handlers = new Map<CommandType, HandlesCommand<object>>();
    for (const wrapper of this.#discovery.getProviders({ metadataKey: commandHandlerMarker.KEY })) {
      const command = this.#discovery.getMetadataByDecorator(commandHandlerMarker, wrapper);
      if (!command) continue;
      const instance = wrapper.instance as Partial<HandlesCommand<object>> | undefined;
      if (!wrapper.isDependencyTreeStatic() || !instance) {
        throw new InvalidCommandHandlerError(command.name, `${wrapper.name} must be a singleton provider`);
      }
      if (typeof instance.execute !== 'function') {
        throw new InvalidCommandHandlerError(command.name, `${wrapper.name} has no execute(command) method`);
      }
      const existing = handlers.get(command);
      if (existing && existing !== instance) {
        throw new InvalidCommandHandlerError(
          command.name,
          `both ${existing.constructor.name} and ${wrapper.name} declare it; keep one`,
        );
      }
      handlers.set(command, instance as HandlesCommand<object>);
    }
    return handlers;
  }
}
