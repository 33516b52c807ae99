declare const resultType: unique symbol;

/**
 * Optional base class of commands sent through the {@link CommandBus}: `Command<R>` records that the command's
 * handler resolves to `R`, so `bus.execute(command)` is typed `Promise<R>`. Any class works as a command;
 * extending this only adds the result type (the class gains no runtime members).
 *
 * @example
 * class Deposit extends Command<{ balance: number }> {
 *   constructor(readonly accountId: string, readonly amount: number) { super(); }
 * }
 * const { balance } = await bus.execute(new Deposit('42', 500));
 */
export abstract class Command<Result = unknown> {
  /** Type-only: the handler's result. Never set at runtime. */
  declare readonly [resultType]?: Result;
}

/** The result type a command declares with {@link Command}; `unknown` for other classes. */
export type ResultOf<C> = C extends Command<infer R> ? R : unknown;

/**
 * A provider that handles one command class; mark it with `@CommandHandler(TheCommand)`.
 *
 * @example
 * @CommandHandler(Deposit)
 * class DepositHandler implements HandlesCommand<Deposit> {
 *   async execute(command: Deposit) { return { balance: 0 }; }
 * }
 */
export interface HandlesCommand<C extends object> {
  execute(command: C): Promise<ResultOf<C>>;
}

/** A command class: what `@CommandHandler(...)` takes and the bus routes on. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type CommandType<C extends object = object> = abstract new (...args: any[]) => C;
