import { Body, Controller, Headers, HttpCode, Inject, Post } from '@nestjs/common';
import { CommandBus } from '../../src/nest/index.js';
import { TransferMoney, type TransferView } from './bank.commands.js';
import { idempotencyKey, parse, transferBody } from './bank.requests.js';

/** `/transfers`: moves money between two accounts, all or nothing, once per Idempotency-Key. */
@Controller('transfers')
export class TransfersController {
  constructor(@Inject(CommandBus) private readonly bus: CommandBus) {}

  /**
   * `POST /transfers { from, to, amount }` → 200 `{ transferId, amount, from, to, duplicate }`; 409
   * `insufficient_funds` (nothing moved) or 404 for an unknown account.
   */
  @Post()
  @HttpCode(200)
  async transfer(@Body() body: unknown, @Headers('idempotency-key') key: unknown): Promise<TransferView> {
    const { from, to, amount } = parse(transferBody, body, 'POST /transfers');
    return this.bus.execute(
      new TransferMoney(from, to, amount, parse(idempotencyKey, key, 'Idempotency-Key')),
    );
  }
}
