import { type DynamicModule, type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { FencepostExceptionFilter, FencepostModule } from '../../src/nest/index.js';
import { Account } from './account.aggregate.js';
import { Transfer } from './transfer.aggregate.js';
import { AccountsController } from './accounts.controller.js';
import { DepositMoneyHandler } from './deposit-money.handler.js';
import { JsonBodiesOnly } from './json-bodies.middleware.js';
import { OpenAccountHandler } from './open-account.handler.js';
import { TransferMoneyHandler } from './transfer-money.handler.js';
import { TransfersController } from './transfers.controller.js';
import { WithdrawMoneyHandler } from './withdraw-money.handler.js';

/**
 * The bank service. `FencepostModule.forRoot` connects the log (schema `bank`), `forFeature([Account, Transfer])`
 * gives the repositories and command handlers, the four handlers are found by the CommandBus, and the
 * exception filter turns fencepost errors into HTTP answers (409 with the balance, 404, 412, ...). A body that
 * is not JSON is refused with 415 (JsonBodiesOnly).
 *
 * @example
 * const app = await NestFactory.create(BankModule.forRoot({ connectionString: process.env.DATABASE_URL }));
 */
@Module({})
export class BankModule implements NestModule {
  static forRoot(options: { connectionString?: string } = {}): DynamicModule {
    return {
      module: BankModule,
      imports: [
        FencepostModule.forRoot({ ...options, schema: 'bank' }),
        FencepostModule.forFeature([Account, Transfer]),
      ],
      controllers: [AccountsController, TransfersController],
      providers: [
        OpenAccountHandler,
        DepositMoneyHandler,
        WithdrawMoneyHandler,
        TransferMoneyHandler,
        { provide: APP_FILTER, useClass: FencepostExceptionFilter },
      ],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(JsonBodiesOnly).forRoutes(AccountsController, TransfersController);
  }
}
