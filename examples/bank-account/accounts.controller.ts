import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { AggregateNotFoundError } from '../../src/index.js';
import { CommandBus, InjectAggregateRepository, type RepositoryOf } from '../../src/nest/index.js';
import { Account } from './account.aggregate.js';
import { accountView } from './account-view.js';
import { type AccountView, DepositMoney, OpenAccount, WithdrawMoney } from './bank.commands.js';
import { accountId, amountBody, idempotencyKey, openAccountBody, parse } from './bank.requests.js';

/**
 * `/accounts`: open, deposit, withdraw (through the CommandBus) and read an account (from its stream).
 * Every injection names its token (`@Inject(CommandBus)`), so the example runs under tsx, which compiles with
 * esbuild and so emits no decorator metadata.
 */
@Controller('accounts')
export class AccountsController {
  constructor(
    @Inject(CommandBus) private readonly bus: CommandBus,
    @InjectAggregateRepository(Account) private readonly accounts: RepositoryOf<typeof Account>,
  ) {}

  /** `POST /accounts { owner }` → 201 `{ id, owner, balance, version }`. */
  @Post()
  async open(@Body() body: unknown, @Headers('idempotency-key') key: unknown): Promise<AccountView> {
    const { owner } = parse(openAccountBody, body, 'POST /accounts');
    return this.bus.execute(new OpenAccount(owner, parse(idempotencyKey, key, 'Idempotency-Key')));
  }

  /** `POST /accounts/:id/deposit { amount }` → 200 `{ id, owner, balance, version }`; 404 for an unknown id. */
  @Post(':id/deposit')
  @HttpCode(200)
  async deposit(@Param('id') id: string, @Body() body: unknown, @Headers('idempotency-key') key: unknown) {
    const { amount } = parse(amountBody, body, 'POST /accounts/:id/deposit');
    const command = new DepositMoney(
      parse(accountId, id, 'id'),
      amount,
      parse(idempotencyKey, key, 'Idempotency-Key'),
    );
    return this.bus.execute(command);
  }

  /** `POST /accounts/:id/withdraw { amount }` → 200, or 409 `{ code: 'insufficient_funds', balance }`. */
  @Post(':id/withdraw')
  @HttpCode(200)
  async withdraw(@Param('id') id: string, @Body() body: unknown, @Headers('idempotency-key') key: unknown) {
    const { amount } = parse(amountBody, body, 'POST /accounts/:id/withdraw');
    const command = new WithdrawMoney(
      parse(accountId, id, 'id'),
      amount,
      parse(idempotencyKey, key, 'Idempotency-Key'),
    );
    return this.bus.execute(command);
  }

  /** `GET /accounts/:id` → `{ id, owner, balance, version }`; 404 for an unknown id. */
  @Get(':id')
  async get(@Param('id') id: string): Promise<AccountView> {
    parse(accountId, id, 'id');
    const { state, version } = await this.accounts.load(id);
    if (version === 0) throw new AggregateNotFoundError(Account.name, id, this.accounts.streamName(id));
    return accountView({ id, state, version });
  }
}
