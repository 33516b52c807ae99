import { FencepostError } from '../log/errors.js';

/** `CommandBus.execute` got a command no `@CommandHandler` handles (a programming error; HTTP 500). */
export class CommandHandlerNotFoundError extends FencepostError {
  /** The command's class name, or `typeof` for a non-instance. */
  readonly command: string;

  constructor(command: string, reason = 'no @CommandHandler is registered for it') {
    super('command_handler_not_found', `cannot execute command ${command}: ${reason}`);
    this.command = command;
  }
}

/** Two providers declare `@CommandHandler` for the same command class, or one is not a usable singleton. */
export class InvalidCommandHandlerError extends FencepostError {
  readonly command: string;

  constructor(command: string, problem: string) {
    super('invalid_command_handler', `command handler for ${command}: ${problem}`);
    this.command = command;
  }
}
