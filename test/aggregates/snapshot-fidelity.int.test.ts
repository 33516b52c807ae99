/**
 * A snapshot is stored only when the state would load back from it as it is: a state JSON cannot hold (a Map,
 * a Date no schema revives, ...) is never stored, so no load starts from a misread state.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AggregateRepository, AggregateRoot, defineAggregate, defineAggregateRoot } from '../../src/index.js';
import { snapshotDifference } from '../../src/aggregates/snapshot-fidelity.js';
import {
  AccountOpened,
  accountSpec,
  DatedAccountState,
  Deposited,
  type AccountEvent,
} from '../support/account.js';
import { uniqueName, useEventLog } from '../support/event-log.js';

const fixture = useEventLog();

afterEach(() => {
  vi.restoreAllMocks();
});

const opened = { type: 'AccountOpened', data: { owner: 'ada' } } as const;
const deposit = (amount: number) => ({ type: 'Deposited', data: { amount, currency: 'EUR' } }) as const;

async function snapshotCount(aggregate: string): Promise<number> {
  const { rows } = await fixture.log.pool.query<{ n: string }>(
    `select count(*) as n from "${fixture.log.schema}".snapshots where aggregate = $1`,
    [aggregate],
  );
  return Number(rows[0]!.n);
}

describe('snapshotDifference', () => {
  it('names where JSON would change the state, and finds none in JSON data', () => {
    expect(
      snapshotDifference({ a: 1, b: [1, { c: 'x' }], d: null }, { a: 1, b: [1, { c: 'x' }], d: null }),
    ).toBe(undefined);
    expect(snapshotDifference({ a: 1, gone: undefined }, { a: 1 })).toBe(undefined);
    expect(snapshotDifference({ limits: new Map([['x', 1]]) }, { limits: {} })).toBe('state.limits');
    expect(snapshotDifference({ at: new Date(0) }, { at: '1970-01-01T00:00:00.000Z' })).toBe('state.at');
    expect(snapshotDifference({ at: new Date(0) }, { at: new Date(0) })).toBe(undefined);
    expect(snapshotDifference({ n: [1, NaN] }, { n: [1, null] })).toBe('state.n[1]');
    expect(snapshotDifference({ a: 1, b: 2 }, { a: 1 })).toBe('state.b');
  });
});

describe('snapshots of states JSON cannot hold', () => {
  it('stores none for a state with a Map, warns once, and loads by replay', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const Mapped = defineAggregate({
      name: 'mapped',
      events: [AccountOpened, Deposited],
      initialState: () => ({ deposits: new Map<number, number>() }),
      evolve: (state, event: Exclude<AccountEvent, { type: 'Withdrawn' }>) =>
        event.type === 'Deposited'
          ? {
              deposits: new Map(state.deposits).set(
                event.data.amount,
                (state.deposits.get(event.data.amount) ?? 0) + 1,
              ),
            }
          : state,
      decide: () => [],
      streamName: (id) => `mapped-${id}`,
      snapshots: { every: 2, schemaVersion: 1 },
    });
    const repository = new AggregateRepository(fixture.log, Mapped);
    const id = uniqueName('m');
    await repository.save(id, [opened, deposit(5), deposit(5), deposit(7)], {
      version: 0,
      state: Mapped.initialState(),
    });
    const loaded = await repository.load(id);
    await repository.load(id);
    expect(loaded.state.deposits).toEqual(
      new Map([
        [5, 2],
        [7, 1],
      ]),
    );
    expect(await snapshotCount('mapped')).toBe(0);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(
      /aggregate mapped: no snapshot is stored, as its state would not load back as it is from JSON \(at state\.deposits\)/,
    );
  });

  it('stores a Date the snapshot schema revives, and not one it leaves a string', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const spec = {
      ...accountSpec,
      initialState: () => ({ opened: false, owner: '', balance: 0, since: new Date(0) }),
      evolve: (
        state: ReturnType<typeof accountSpec.initialState> & { since: Date },
        event: AccountEvent,
      ) => ({
        ...accountSpec.evolve(state, event),
        since: state.since,
      }),
    };
    const Revived = defineAggregate({
      ...spec,
      name: 'dated-revived',
      snapshots: {
        every: 2,
        schemaVersion: 1,
        schema: DatedAccountState,
      },
    });
    const Unrevived = defineAggregate({ ...spec, name: 'dated', snapshots: { every: 2, schemaVersion: 1 } });
    const id = uniqueName('d');
    const revived = new AggregateRepository(fixture.log, Revived);
    await revived.save(id, [opened, deposit(1), deposit(2)], { version: 0 });
    expect((await revived.load(id)).state.since).toEqual(new Date(0));
    expect(await snapshotCount('dated-revived')).toBe(1);
    // Loaded from that snapshot: a Date again.
    expect((await revived.load(id)).state).toEqual({
      opened: true,
      owner: 'ada',
      balance: 3,
      since: new Date(0),
    });

    const unrevived = new AggregateRepository(fixture.log, { ...Unrevived, streamName: Revived.streamName });
    expect((await unrevived.load(id)).state.since).toEqual(new Date(0));
    expect(await snapshotCount('dated')).toBe(0);
    expect(String(warn.mock.calls[0]?.[0])).toMatch(/aggregate dated: .*\(at state\.since\)/);
  });

  it('stores none for a class-style aggregate whose field is a Set', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    class Tags extends AggregateRoot<AccountEvent> {
      owners = new Set<string>();
      protected onAccountOpened({ owner }: { owner: string }): void {
        this.owners.add(owner);
      }
    }
    const Tagged = defineAggregateRoot(Tags, {
      name: 'tagged',
      events: [AccountOpened],
      snapshots: { every: 1, schemaVersion: 1 },
    });
    const repository = new AggregateRepository(fixture.log, Tagged);
    const id = uniqueName('t');
    await repository.save(id, [opened], { version: 0, state: Tagged.initialState() });
    const { state } = await repository.load(id);
    expect(state.owners).toEqual(new Set(['ada']));
    expect(await snapshotCount('tagged')).toBe(0);
  });
});
