/**
 * FencepostModule.forFeature: each aggregate's repository and command handler resolve by their tokens and
 * through the @Inject... decorators, share the root module's log, and take the options listed next to them;
 * bad lists are refused with a message naming the item.
 */
import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { describe, expect, it } from 'vitest';
import { AggregateRepository, CommandHandler, defineAggregate, EventLog } from '../../src/index.js';
import {
  Command,
  CommandBus,
  CommandHandler as HandlesCommandOf,
  type CommandsOf,
  FencepostModule,
  getAggregateRepositoryToken,
  getCommandHandlerToken,
  InjectAggregateRepository,
  InjectCommandHandler,
  type RepositoryOf,
} from '../../src/nest/index.js';
import { Account, accountSpec } from '../support/account.js';
import { Accounts as RootAccounts, Account as RootAccount } from '../support/account-root.js';
import { useTestDatabase } from '../support/database.js';
import { uniqueName } from '../support/event-log.js';

const db = useTestDatabase();
const Savings = defineAggregate({ ...accountSpec, name: 'savings' });

@Injectable()
class Teller {
  constructor(
    @InjectCommandHandler(Account) readonly commands: CommandsOf<typeof Account>,
    @InjectAggregateRepository(Account) readonly accounts: RepositoryOf<typeof Account>,
  ) {}
}

/** A command of the bus, handled on a class-style aggregate: its handler calls the instance's methods. */
class DepositToRoot extends Command<{ balance: number; version: number }> {
  constructor(
    readonly accountId: string,
    readonly amount: number,
  ) {
    super();
  }
}

@HandlesCommandOf(DepositToRoot)
class DepositToRootHandler {
  constructor(@InjectCommandHandler(RootAccounts) readonly accounts: CommandsOf<typeof RootAccounts>) {}

  async execute({ accountId, amount }: DepositToRoot) {
    const { state, version } = await this.accounts.handle(accountId, (account) => account.deposit(amount));
    return { balance: state.balance, version };
  }
}

function root() {
  return FencepostModule.forRoot({ connectionString: db.connectionString, sweepIntervalMs: 0 });
}

describe('FencepostModule.forFeature', () => {
  it('gives each aggregate a repository and a command handler on the root log', async () => {
    const module = await Test.createTestingModule({
      imports: [
        root(),
        FencepostModule.forFeature([Account, { aggregate: Savings, retry: { maxAttempts: 3 } }]),
      ],
      providers: [Teller],
    }).compile();
    await module.init();
    try {
      expect(module.get(getAggregateRepositoryToken(Account))).toBeInstanceOf(AggregateRepository);
      expect(module.get(getCommandHandlerToken(Savings))).toBeInstanceOf(CommandHandler);
      expect(getCommandHandlerToken(Account)).not.toBe(getCommandHandlerToken(Savings));

      const teller = module.get(Teller);
      const id = uniqueName('acct');
      await teller.commands.handle(id, { type: 'Open', owner: 'Ada' }, { expect: 'new' });
      const deposit = await teller.commands.handle(id, { type: 'Deposit', amount: 40 }, { commandId: 'd-1' });
      expect(deposit).toMatchObject({ version: 2, duplicate: false, state: { balance: 40 } });
      expect(await teller.accounts.load(id)).toMatchObject({
        version: 2,
        state: { owner: 'Ada', balance: 40 },
      });
      // The same log as the root module's: the events are in account-<id>.
      const { records } = await module.get(EventLog).stream(`account-${id}`).read({ seqNum: 0 });
      expect(records).toHaveLength(2);
    } finally {
      await module.close();
    }
  });

  it('takes a class-style aggregate (AggregateRoot) as it takes a decider', async () => {
    const module = await Test.createTestingModule({
      imports: [root(), FencepostModule.forFeature([RootAccounts])],
      providers: [DepositToRootHandler],
    }).compile();
    await module.init();
    try {
      const id = uniqueName('root');
      const commands = module.get<CommandsOf<typeof RootAccounts>>(getCommandHandlerToken(RootAccounts));
      await commands.handle(id, (account) => account.open('Ada'), { expect: 'new' });
      const bus = module.get(CommandBus);
      expect(await bus.execute(new DepositToRoot(id, 40))).toEqual({ balance: 40, version: 2 });
      const { state } = await module
        .get<RepositoryOf<typeof RootAccounts>>(getAggregateRepositoryToken(RootAccounts))
        .load(id);
      expect(state).toBeInstanceOf(RootAccount);
      expect(state).toMatchObject({ owner: 'Ada', balance: 40 });
    } finally {
      await module.close();
    }
  });

  it('passes the options next to an aggregate to its command handler, checked before connecting', async () => {
    expect(() => FencepostModule.forFeature([{ aggregate: Savings, retry: { maxAttempts: 0 } }])).toThrow(
      /forFeature: aggregate savings: retry.maxAttempts/,
    );
    expect(() => FencepostModule.forFeature([{ aggregate: Savings, cacheSize: -1 }])).toThrow(
      /forFeature: aggregate savings: cacheSize: .*>=0/,
    );
    expect(() => FencepostModule.forFeature([{ aggregate: Savings, retires: {} } as never])).toThrow(
      /forFeature: aggregate savings: .*retires/,
    );
    // With one attempt, racing deposits on one account lose with ConcurrencyConflictError instead of retrying.
    const module = await Test.createTestingModule({
      imports: [root(), FencepostModule.forFeature([{ aggregate: Savings, retry: { maxAttempts: 1 } }])],
    }).compile();
    await module.init();
    try {
      const commands = module.get<CommandsOf<typeof Savings>>(getCommandHandlerToken(Savings));
      const id = uniqueName('savings');
      await commands.handle(id, { type: 'Open', owner: 'Bo' });
      const outcomes = await Promise.allSettled(
        Array.from({ length: 12 }, () => commands.handle(id, { type: 'Deposit', amount: 1 })),
      );
      const lost = outcomes
        .filter((o) => o.status === 'rejected')
        .map((o) => (o as PromiseRejectedResult).reason);
      expect(lost.length).toBeGreaterThan(0);
      for (const reason of lost) expect(reason).toMatchObject({ code: 'concurrency_conflict', attempts: 1 });
    } finally {
      await module.close();
    }
  });

  it('refuses an item that is not an aggregate, and a name listed twice', () => {
    expect(() => FencepostModule.forFeature([Account, { name: 'x' } as never])).toThrow(
      /item 1 is not an aggregate definition/,
    );
    expect(() => FencepostModule.forFeature([Account, { aggregate: Account }])).toThrow(
      /"account" is listed twice/,
    );
  });
});
