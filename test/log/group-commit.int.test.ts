import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ClosedError,
  CommandHandler,
  DuplicateCommandError,
  EventLog,
  FencingTokenMismatchError,
  IndefiniteAppendError,
  InvalidArgumentError,
  SeqNumMismatchError,
  StorageError,
} from '../../src/index.js';
import { Account } from '../support/account.js';
import { eventually, rejectionOf } from '../support/assertions.js';
import { adminQuery } from '../support/database.js';
import { uniqueName, useEventLog } from '../support/event-log.js';
import { TcpProxy } from '../support/tcp-proxy.js';

// Group commit (src/log/append-groups.ts): while two statements of single-record appends run, the next such
// appends wait and go together in one statement. The tests make a group for certain by filling both places
// with appends waiting for a stream row lock held here (`holdPlaces`), queueing the appends under test, and
// letting the lock go: the first place to come free sends every queued append to a distinct stream at once.
// A group's records share their transaction, so its records' `xmin` is one value.
const fixture = useEventLog();
/** A log that never sends a group early (the stall timeout is a minute): groups form only as places free. */
let patient: EventLog;

beforeAll(async () => {
  patient = await fixture.connect({ groupAppends: { concurrency: 2, stallMs: 60_000 } });
});

/** Opens streams with one record each. */
async function open(log: EventLog, ...names: string[]): Promise<void> {
  await Promise.all(names.map((name) => log.stream(name).append([{ body: 'first' }], { matchSeqNum: 0 })));
}

/** Backends of the test database waiting for a lock (a row's, here). */
async function waitingForLocks(): Promise<number> {
  const client = new pg.Client({ connectionString: fixture.connectionString });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      `select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
    );
    return rows[0]!.n;
  } finally {
    await client.end();
  }
}

/**
 * Locks two streams' rows in a transaction of its own and starts one append to each, which take the log's two
 * places and wait. `release` commits the lock and waits for those two appends.
 */
async function holdPlaces(log: EventLog): Promise<{ release: () => Promise<void> }> {
  const names = [uniqueName('holder'), uniqueName('holder')];
  await open(log, ...names);
  const locker = new pg.Client({ connectionString: fixture.connectionString });
  await locker.connect();
  await locker.query('begin');
  await locker.query('select 1 from fencepost.streams where name = any($1) for update', [names]);
  const holders = Promise.allSettled(names.map((name) => log.stream(name).append([{ body: 'holder' }])));
  await eventually(async () => (await waitingForLocks()) >= 2 || undefined, 'two appends waiting');
  return {
    release: async () => {
      await locker.query('commit');
      await locker.end();
      for (const outcome of await holders) if (outcome.status === 'rejected') throw outcome.reason;
    },
  };
}

/** The transaction ids (`xmin`) that wrote the records of these streams from `seqNum` on, by stream. */
async function writers(names: string[], seqNum = 1): Promise<Map<string, string[]>> {
  const client = new pg.Client({ connectionString: fixture.connectionString });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string; xid: string }>(
      `select s.name, r.xmin::text as xid from fencepost.records r join fencepost.streams s on s.id = r.stream_id
       where s.name = any($1) and r.seq_num >= $2 order by s.name, r.seq_num`,
      [names, seqNum],
    );
    const byName = new Map<string, string[]>();
    for (const row of rows) byName.set(row.name, [...(byName.get(row.name) ?? []), row.xid]);
    return byName;
  } finally {
    await client.end();
  }
}

/** Headers stored as text, with what a text[] literal must escape. */
const TEXT_HEADERS: [string, string][] = [
  ['type', 'Text'],
  ['note', 'a "quoted", {braced} \\ value'],
  ['empty', ''],
];

describe('group commit of single-record appends', () => {
  it('sends the appends queued behind running statements in one statement, each on its own conditions', async () => {
    const [ok, wrongSeq, wrongToken, free, text, bytes, stamped, fresh] = Array.from({ length: 8 }, () =>
      uniqueName('grouped'),
    );
    await open(patient, ok!, wrongSeq!, wrongToken!, free!, text!, bytes!, stamped!);
    await patient.stream(wrongToken!).fence('writer-1', { matchSeqNum: 1 });
    const places = await holdPlaces(patient);
    const at = Date.now() - 60_000;
    const appends = {
      ok: patient.stream(ok!).append([{ body: 'ok' }], { matchSeqNum: 1 }),
      wrongSeq: patient.stream(wrongSeq!).append([{ body: 'never' }], { matchSeqNum: 5 }),
      wrongToken: patient.stream(wrongToken!).append([{ body: 'never' }], { fencingToken: 'writer-0' }),
      free: patient.stream(free!).append([{ body: 'free' }]),
      text: patient.stream(text!).append([{ body: 'text', headers: TEXT_HEADERS }], { matchSeqNum: 1 }),
      bytes: patient
        .stream(bytes!)
        .append([{ body: new Uint8Array([0xff, 0]), headers: [['raw', new Uint8Array([0xfe])]] }]),
      stamped: patient.stream(stamped!).append([{ body: 'stamped', timestamp: at }]),
      // A stream that does not exist yet: the group skips it, and its append creates it alone.
      fresh: patient.stream(fresh!).append([{ body: 'fresh' }]),
    };
    // Each outcome, value or error, taken as it comes (a rejection must not wait for a handler).
    const outcomes = Object.entries(appends).map(async ([k, p]) => [
      k,
      await p.then(
        (v) => v,
        (e) => e,
      ),
    ]);
    await places.release();
    const settled = Object.fromEntries(await Promise.all(outcomes));
    expect(settled.ok).toMatchObject({ start: { seqNum: 1 }, end: { seqNum: 2 }, tail: { seqNum: 2 } });
    expect(settled.wrongSeq).toBeInstanceOf(SeqNumMismatchError);
    expect((settled.wrongSeq as SeqNumMismatchError).expectedSeqNum).toBe(1);
    expect(settled.wrongToken).toBeInstanceOf(FencingTokenMismatchError);
    expect((settled.wrongToken as FencingTokenMismatchError).expectedFencingToken).toBe('writer-1');
    expect(settled.free).toMatchObject({ start: { seqNum: 1 } });
    expect(settled.fresh).toMatchObject({ start: { seqNum: 0 }, tail: { seqNum: 1 } });
    // The appends to existing streams whose conditions held were written by one transaction.
    const xids = await writers([ok!, free!, text!, bytes!, stamped!]);
    expect(new Set([...xids.values()].flat()).size).toBe(1);
    expect([...xids.values()].every((x) => x.length === 1)).toBe(true);
    // Nothing of the failed ones.
    expect(await patient.stream(wrongSeq!).checkTail()).toMatchObject({ seqNum: 1 });
    expect(await patient.stream(wrongToken!).checkTail()).toMatchObject({ seqNum: 2 });
    // Each record as a lone append would have written it.
    const read = async (name: string) => (await patient.stream(name).read({ seqNum: 1 })).records;
    expect((await read(text!))[0]).toMatchObject({ body: 'text', headers: TEXT_HEADERS });
    const [raw] = (await patient.stream(bytes!).read({ seqNum: 1, as: 'bytes' })).records;
    expect(Buffer.from(raw!.body)).toEqual(Buffer.from([0xff, 0]));
    expect(raw!.headers.flat().map((b) => Buffer.from(b))).toEqual([Buffer.from('raw'), Buffer.from([0xfe])]);
    const [dated] = await read(stamped!);
    expect(dated!.timestamp).toBeGreaterThanOrEqual(at); // client-prefer: the stream's floor, at least `at`
    expect(settled.stamped).toMatchObject({ start: { timestamp: dated!.timestamp } });
    expect((await read(free!))[0]).toMatchObject({ body: 'free', headers: [] });
  });

  it('fails only the append whose command id was recorded before; the others of its group are written', async () => {
    const [again, other] = [uniqueName('cmd'), uniqueName('cmd')];
    await open(patient, again!, other!);
    await patient.appendMany([{ stream: again!, records: [{ body: 'first time' }] }], {
      commandId: 'cmd-seen',
    });
    const places = await holdPlaces(patient);
    const duplicate = rejectionOf(
      patient.appendMany([{ stream: again!, records: [{ body: 'twice' }] }], {
        commandId: 'cmd-seen',
      }),
    );
    const fresh = patient.appendMany([{ stream: other!, records: [{ body: 'new' }], matchSeqNum: 1 }], {
      commandId: 'cmd-new',
    });
    const plain = patient.stream(again!).append([{ body: 'plain' }]);
    await places.release();
    expect(await duplicate).toBeInstanceOf(DuplicateCommandError);
    expect(await fresh).toMatchObject([{ start: { seqNum: 1 } }]);
    expect(await plain).toMatchObject({ start: { seqNum: 2 } });
    const bodies = (await patient.stream(again!).read({ seqNum: 0 })).records.map((r) => r.body);
    expect(bodies).toEqual(['first', 'first time', 'plain']);
    expect(await patient.lookupCommand('cmd-new', [{ stream: other! }])).toMatchObject([
      { start: 1, end: 2 },
    ]);
  });

  it('lets neither a locked stream nor the appends waiting for it hold up appends to other streams', async () => {
    // The default stall timeout (10 ms): the two places are taken by appends waiting for a lock, and the
    // appends to other streams go as a group all the same. An append of that group to the locked stream is
    // skipped (the group does not wait for the lock) and waits alone.
    const log = await fixture.connect({ groupAppends: { concurrency: 2 } });
    const locked = uniqueName('locked');
    const others = [uniqueName('other'), uniqueName('other'), uniqueName('other')];
    await open(log, locked, ...others);
    const locker = new pg.Client({ connectionString: fixture.connectionString });
    await locker.connect();
    try {
      await locker.query('begin');
      await locker.query('select 1 from fencepost.streams where name = $1 for update', [locked]);
      const waiting = [1, 2].map(() => log.stream(locked).append([{ body: 'waits' }]));
      await eventually(async () => (await waitingForLocks()) >= 2 || undefined, 'two appends waiting');
      const inGroup = log.stream(locked).append([{ body: 'waits too' }]);
      const acks = await Promise.all(others.map((name) => log.stream(name).append([{ body: 'goes' }])));
      expect(acks.map((a) => a.start.seqNum)).toEqual([1, 1, 1]);
      expect(await log.stream(locked).checkTail()).toMatchObject({ seqNum: 1 });
      await locker.query('commit');
      const written = await Promise.all([...waiting, inGroup]);
      expect(written.map((a) => a.start.seqNum).sort()).toEqual([1, 2, 3]);
    } finally {
      await locker.end();
    }
  });

  it('numbers every append of racing writers in two processes once, with no deadlock between groups', async () => {
    // Two logs (two pools: two processes as far as Postgres can tell), 24 writers each, over 12 streams: each
    // writer appends to random streams with the matchSeqNum it last saw, so groups of both logs name the same
    // streams in every order, and many appends fail their condition and learn the tail.
    const logs = [await fixture.connect(), await fixture.connect({ migrate: false })];
    const names = Array.from({ length: 12 }, () => uniqueName('mixed'));
    await open(logs[0]!, ...names);
    const seen = new Map(names.map((n) => [n, 1]));
    const written: { name: string; seqNum: number; body: string }[] = [];
    let failed = 0;
    await Promise.all(
      logs.flatMap((log, l) =>
        Array.from({ length: 24 }, async (_, w) => {
          for (let i = 0; i < 40; i++) {
            const name = names[(w * 7 + i * 5 + l) % names.length]!;
            const body = `${l}:${w}:${i}`;
            const conditional = i % 3 !== 0;
            try {
              const ack = await log
                .stream(name)
                .append([{ body }], conditional ? { matchSeqNum: seen.get(name)! } : {});
              written.push({ name, seqNum: ack.start.seqNum, body });
              seen.set(name, Math.max(seen.get(name)!, ack.tail.seqNum));
            } catch (error) {
              if (!(error instanceof SeqNumMismatchError)) throw error;
              failed++;
              seen.set(name, Math.max(seen.get(name)!, error.expectedSeqNum));
            }
          }
        }),
      ),
    );
    expect(written.length + failed).toBe(2 * 24 * 40);
    expect(failed).toBeGreaterThan(0);
    for (const name of names) {
      const records = (await logs[0]!.stream(name).read({ seqNum: 1, count: 1000 })).records;
      const mine = written.filter((w) => w.name === name).sort((a, b) => a.seqNum - b.seqNum);
      expect(records.map((r) => ({ seqNum: r.seqNum, body: r.body }))).toEqual(
        mine.map((w) => ({ seqNum: w.seqNum, body: w.body })),
      );
    }
    // Groups happened: fewer transactions than records.
    const xids = [...(await writers(names)).values()].flat();
    expect(new Set(xids).size).toBeLessThan(xids.length);
  });
  it('fails the appends waiting for a place with ClosedError when the log closes; none of them is written', async () => {
    const log = await fixture.connect({
      groupAppends: { concurrency: 2, stallMs: 60_000 },
      closeTimeoutMs: 100,
    });
    const names = [uniqueName('closing'), uniqueName('closing')];
    await open(log, ...names);
    const places = await holdPlaces(log);
    const waiting = Promise.allSettled(names.map((name) => log.stream(name).append([{ body: 'never' }])));
    await log.close();
    const outcomes = await waiting;
    for (const outcome of outcomes) {
      expect(outcome.status === 'rejected' && outcome.reason).toBeInstanceOf(ClosedError);
    }
    // The two appends that held the places were cut off by close(): they are indefinite, and commit once
    // their lock is let go.
    await places.release().then(
      () => expect.unreachable('the holders were cut off'),
      (error: unknown) => expect(error).toBeInstanceOf(IndefiniteAppendError),
    );
    const tails = await Promise.all(names.map((name) => fixture.log.stream(name).checkTail()));
    expect(tails.map((t) => t.seqNum)).toEqual([1, 1]);
  });
});

describe('groups whose backends are terminated while writers race', () => {
  it('write every acknowledged append once at its seqNum, no definitely failed one, and an indefinite one at most once', async () => {
    // 16 writers append to 8 streams through one log while its backends are terminated again and again. Each
    // append's outcome is kept: an ack, a definite failure (StorageError: nothing written) or an indefinite
    // one (IndefiniteAppendError: its group committed or not). The streams must hold exactly the acknowledged
    // records at their acknowledged seqNums, none of the definitely failed ones, and each indefinite one at
    // most once.
    const url = new URL(fixture.connectionString);
    url.searchParams.set('application_name', 'fp-group-terminated');
    const log = await fixture.connect({ connectionString: url.toString(), max: 8, migrate: false });
    const names = Array.from({ length: 8 }, () => uniqueName('terminated'));
    await open(log, ...names);
    const acked = new Map<string, { name: string; seqNum: number }>();
    const definite = new Set<string>();
    const indefinite = new Set<string>();
    let writing = true;
    const killer = (async () => {
      let killed = 0;
      while (writing) {
        const terminated = await adminQuery(
          `select pg_terminate_backend(pid) from pg_stat_activity
           where application_name = 'fp-group-terminated' and state = 'active'`,
        );
        killed += terminated.length;
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
      return killed;
    })();
    await Promise.all(
      Array.from({ length: 16 }, async (_, w) => {
        for (let i = 0; i < 60; i++) {
          const name = names[(w + i) % names.length]!;
          const body = `${w}:${i}`;
          try {
            const ack = await log.stream(name).append([{ body }]);
            acked.set(body, { name, seqNum: ack.start.seqNum });
          } catch (error) {
            if (error instanceof IndefiniteAppendError) indefinite.add(body);
            else if (error instanceof StorageError) definite.add(body);
            else throw error;
          }
        }
      }),
    );
    writing = false;
    expect(await killer).toBeGreaterThan(0);
    expect(acked.size + definite.size + indefinite.size).toBe(16 * 60);
    expect(acked.size).toBeGreaterThan(0);
    expect(definite.size + indefinite.size).toBeGreaterThan(0); // the terminations hit appends
    const xids = [...(await writers(names)).values()].flat();
    expect(new Set(xids).size).toBeLessThan(xids.length); // and groups were written
    const found = new Map<string, { name: string; seqNum: number }[]>();
    for (const name of names) {
      const { records } = await fixture.log.stream(name).read({ seqNum: 1, count: 1000 });
      records.forEach((r, k) => {
        expect(r.seqNum).toBe(k + 1); // gapless
        found.set(r.body, [...(found.get(r.body) ?? []), { name, seqNum: r.seqNum }]);
      });
    }
    for (const [body, at] of acked) expect(found.get(body)).toEqual([at]);
    for (const body of definite) expect(found.get(body)).toBeUndefined();
    for (const body of indefinite) expect(found.get(body)?.length ?? 0).toBeLessThanOrEqual(1);
    for (const body of found.keys()) expect(acked.has(body) || indefinite.has(body)).toBe(true);
  });
});

describe('groupAppends', () => {
  it('refuses settings out of range, naming the setting and the rule', async () => {
    const bad = [
      [{ concurrency: 0 }, 'groupAppends.concurrency'],
      [{ maxAppends: 1 }, 'groupAppends.maxAppends'],
      [{ maxAppends: 1001 }, 'groupAppends.maxAppends'],
      [{ stallMs: 1.5 }, 'groupAppends.stallMs'],
      [{ linger: 5 }, 'groupAppends'],
      [true, 'groupAppends'],
    ] as const;
    for (const [groupAppends, named] of bad) {
      const error = await rejectionOf(
        EventLog.connect({
          connectionString: fixture.connectionString,
          groupAppends: groupAppends as never,
        }),
      );
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toContain(`EventLog.connect: ${named}`);
    }
  });

  it('off: appends made at the same time each go alone, in transactions of their own', async () => {
    const log = await fixture.connect({ groupAppends: false });
    const names = Array.from({ length: 12 }, () => uniqueName('alone'));
    await open(log, ...names);
    await Promise.all(names.map((name) => log.stream(name).append([{ body: 'alone' }], { matchSeqNum: 1 })));
    const xids = [...(await writers(names)).values()].flat();
    expect(new Set(xids).size).toBe(names.length);
  });
});

describe('a group whose connection is lost around its commit', () => {
  let proxy: TcpProxy;
  let cut: EventLog;
  beforeAll(async () => {
    proxy = await TcpProxy.start(fixture.connectionString);
    cut = await fixture.connect({
      connectionString: proxy.connectionString,
      migrate: false,
      groupAppends: { concurrency: 2, stallMs: 60_000 },
    });
  });
  afterAll(async () => {
    await cut.close();
    await proxy.close();
  });

  for (const when of ['after-reply', 'before-send'] as const) {
    it(`${when}: every append of the group is indefinite, and all or none of them were written`, async () => {
      const names = [uniqueName('cut'), uniqueName('cut'), uniqueName('cut')];
      await open(cut, ...names);
      const places = await holdPlaces(cut);
      const cuts = proxy.cuts;
      proxy.cutNext({ containing: 'append-group', when });
      const appends = Promise.allSettled(
        names.map((name) => cut.stream(name).append([{ body: 'cut' }], { matchSeqNum: 1 })),
      );
      await places.release();
      const outcomes = await appends;
      for (const outcome of outcomes) {
        expect(outcome.status === 'rejected' && outcome.reason).toBeInstanceOf(IndefiniteAppendError);
      }
      expect(proxy.cuts).toBe(cuts + 1);
      const tails = await Promise.all(names.map((name) => fixture.log.stream(name).checkTail()));
      expect(tails.map((t) => t.seqNum)).toEqual(when === 'after-reply' ? [2, 2, 2] : [1, 1, 1]);
    });
  }

  it('commands cut in a group are resolved by reading back, each applied once', async () => {
    const commands = new CommandHandler(cut, Account);
    const ids = [uniqueName('acct'), uniqueName('acct'), uniqueName('acct')];
    await Promise.all(ids.map((id) => commands.handle(id, { type: 'Open', owner: id })));
    const places = await holdPlaces(cut);
    const cuts = proxy.cuts;
    proxy.cutNext({ containing: 'append-group', when: 'after-reply' });
    const handled = ids.map((id, k) =>
      commands.handle(id, { type: 'Deposit', amount: k + 1 }, { commandId: `dep-${id}` }),
    );
    await places.release();
    const results = await Promise.all(handled);
    expect(proxy.cuts).toBe(cuts + 1);
    results.forEach((result, k) =>
      expect(result).toMatchObject({ duplicate: false, version: 2, state: { balance: k + 1 } }),
    );
    const direct = new CommandHandler(fixture.log, Account);
    for (const id of ids) expect(await direct.repository.events(id, 0, 10)).toHaveLength(2);
  });
});
