import { describe, expect, it } from 'vitest';
import pg from 'pg';
import {
  BasinNotFoundError,
  DEFAULT_BASIN,
  DuplicateCommandError,
  FencingTokenMismatchError,
  InvalidArgumentError,
  SeqNumMismatchError,
  StorageError,
  StreamNotFoundError,
} from '../../src/index.js';
import { appendManyOneStatement, appendManyStatement } from '../../src/log/append-many-statement.js';
import { encodeRequest } from '../../src/log/encode-append-many.js';
import { rejectionOf } from '../support/assertions.js';
import { uniqueName, useEventLog } from '../support/event-log.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const fixture = useEventLog({ max: 20 });

describe('log.appendMany', () => {
  it('appends to several streams, creating missing ones, and acks each in order', async () => {
    const a = uniqueName('many-a');
    const b = uniqueName('many-b');
    await fixture.log.stream(b).append([{ body: 'b0' }]);
    const acks = await fixture.log.appendMany([
      { stream: a, records: [{ body: 'a0' }, { body: 'a1', headers: [['k', 'v']] }], matchSeqNum: 0 },
      { stream: b, records: [{ body: new Uint8Array([0, 255]) }], matchSeqNum: 1 },
    ]);
    expect(acks.map((ack) => [ack.start.seqNum, ack.end.seqNum, ack.tail.seqNum])).toEqual([
      [0, 2, 2],
      [1, 2, 2],
    ]);
    const { records: ra } = await fixture.log.stream(a).read({ seqNum: 0 });
    expect(ra.map((r) => [r.body, r.headers])).toEqual([
      ['a0', []],
      ['a1', [['k', 'v']]],
    ]);
    const { records: rb } = await fixture.log.stream(b).read({ seqNum: 0, as: 'bytes' });
    expect([...rb[1]!.body]).toEqual([0, 255]);
    expect(ra[0]!.timestamp).toBe(acks[0]!.end.timestamp);
  });

  it('writes nothing anywhere when one stream fails its condition, and names that stream', async () => {
    const a = uniqueName('atomic-a');
    const b = uniqueName('atomic-b');
    await fixture.log.stream(a).append([{ body: 'a0' }]);
    await fixture.log.stream(b).append([{ body: 'b0' }, { body: 'b1' }]);
    const error = await rejectionOf(
      fixture.log.appendMany([
        { stream: a, records: [{ body: 'x' }], matchSeqNum: 1 },
        { stream: b, records: [{ body: 'y' }], matchSeqNum: 1 },
      ]),
    );
    expect(error).toBeInstanceOf(SeqNumMismatchError);
    expect(error).toMatchObject({ stream: b, expectedSeqNum: 2 });
    expect(await fixture.log.stream(a).checkTail()).toMatchObject({ seqNum: 1 });
    expect(await fixture.log.stream(b).checkTail()).toMatchObject({ seqNum: 2 });

    await fixture.log.stream(a).fence('t1');
    const fenced = await rejectionOf(
      fixture.log.appendMany([
        { stream: b, records: [{ body: 'y' }] },
        { stream: a, records: [{ body: 'x' }], fencingToken: 'old' },
      ]),
    );
    expect(fenced).toBeInstanceOf(FencingTokenMismatchError);
    expect(fenced).toMatchObject({ stream: a, expectedFencingToken: 't1' });
    // One stream alone takes a shorter statement; its conditions hold the same.
    const alone = await rejectionOf(
      fixture.log.appendMany([{ stream: a, records: [{ body: 'x' }], fencingToken: 'old' }]),
    );
    expect(alone).toMatchObject({ code: 'fencing_token_mismatch', stream: a, expectedFencingToken: 't1' });
    const stale = await rejectionOf(
      fixture.log.appendMany([{ stream: a, records: [{ body: 'x' }], fencingToken: 't1', matchSeqNum: 1 }]),
    );
    expect(stale).toMatchObject({ code: 'seq_num_mismatch', stream: a, expectedSeqNum: 2 });
    await fixture.log.appendMany([
      { stream: a, records: [{ body: 'x' }], fencingToken: 't1', matchSeqNum: 2 },
    ]);
    expect(await fixture.log.stream(a).checkTail()).toMatchObject({ seqNum: 3 });
    expect(await fixture.log.stream(b).checkTail()).toMatchObject({ seqNum: 2 });
  });

  it('does not create streams when the append fails elsewhere or the basin does not create on append', async () => {
    const fresh = uniqueName('fresh');
    const error = await rejectionOf(
      fixture.log.appendMany([{ stream: fresh, records: [{ body: 'x' }], matchSeqNum: 3 }]),
    );
    expect(error).toMatchObject({ expectedSeqNum: 0, stream: fresh });
    const basin = `no-create-${Date.now().toString(36)}`;
    await fixture.log.basins.create({ basin, config: { createStreamOnAppend: false } });
    const missing = await rejectionOf(
      fixture.log.appendMany([{ basin, stream: 'nope', records: [{ body: 'x' }] }]),
    );
    expect(missing).toBeInstanceOf(StreamNotFoundError);
  });

  it('refuses bad input before writing anything', async () => {
    const a = uniqueName('bad');
    const cases: [unknown, RegExp][] = [
      [[], /1–100 streams/],
      [
        [{ stream: a, records: Array.from({ length: 1001 }, () => ({ body: 'x' })) }],
        /item 0 .*1–1000 records/,
      ],
      [[{ stream: a, records: 'x' }], /item 0 .*1–1000 records/],
      [[{ stream: a, records: [], matchSeqNum: -1 }], /item 0 .*matchSeqNum/],
      [
        [
          { stream: a, records: [{ body: 'x' }] },
          { stream: a, records: [{ body: 'y' }] },
        ],
        /twice/,
      ],
      [[{ stream: a, records: [{ body: 'x', timestamp: 5 }] }], /must not carry a timestamp/],
      [[{ stream: a, records: [{ headers: [['', 'fence']], body: 't' }] }], /command records/],
      [[{ stream: '', records: [{ body: 'x' }] }], /stream name/],
    ];
    for (const [items, message] of cases) {
      const error = await rejectionOf(fixture.log.appendMany(items as never));
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toMatch(message);
    }
    expect(
      await rejectionOf(fixture.log.appendMany([{ stream: a, records: [{ body: 'x' }] }], { commandId: '' })),
    ).toBeInstanceOf(InvalidArgumentError);
    expect(await rejectionOf(fixture.log.stream(a).checkTail())).toBeInstanceOf(StreamNotFoundError);
  });

  it('takes an item without records as a condition: checked under its lock, the id recorded, nothing written', async () => {
    const a = uniqueName('cond-a');
    const b = uniqueName('cond-b');
    await fixture.log.stream(a).append([{ body: 'a0' }, { body: 'a1' }]);
    const before = await fixture.log.stream(a).checkTail();
    const stale = await rejectionOf(
      fixture.log.appendMany([
        { stream: a, records: [], matchSeqNum: 1 },
        { stream: b, records: [{ body: 'b0' }], matchSeqNum: 0 },
      ]),
    );
    expect(stale).toBeInstanceOf(SeqNumMismatchError);
    expect(stale).toMatchObject({ stream: a, expectedSeqNum: 2 });
    expect(await rejectionOf(fixture.log.stream(b).checkTail())).toBeInstanceOf(StreamNotFoundError);

    const acks = await fixture.log.appendMany(
      [
        { stream: a, records: [], matchSeqNum: 2 },
        { stream: b, records: [{ body: 'b0' }], matchSeqNum: 0 },
      ],
      { commandId: 'cond-1' },
    );
    expect(acks[0]).toEqual({ start: before, end: before, tail: before });
    expect(acks[1]!.end.seqNum).toBe(1);
    expect(await fixture.log.stream(a).checkTail()).toEqual(before);
    expect(await fixture.log.lookupCommand('cond-1', [{ stream: a }, { stream: b }])).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ stream: a, start: 2, end: 2 }),
        expect.objectContaining({ stream: b, start: 0, end: 1 }),
      ]),
    );
    // The id is on the stream given no records too: a later append with it there alone is a duplicate.
    const again = await rejectionOf(
      fixture.log.appendMany([{ stream: a, records: [{ body: 'late' }] }], { commandId: 'cond-1' }),
    );
    expect(again).toBeInstanceOf(DuplicateCommandError);
    // Items with no records at all record only the id.
    await fixture.log.appendMany([{ stream: a, records: [] }], { commandId: 'cond-2' });
    expect(await fixture.log.lookupCommand('cond-2', [{ stream: a }])).toEqual([
      expect.objectContaining({ stream: a, start: 2, end: 2 }),
    ]);
    expect(await fixture.log.stream(a).checkTail()).toEqual(before);
  });

  it('names a missing stream or basin as not found, as a single append does', async () => {
    const basin = uniqueName('closed-basin');
    await fixture.log.basins.create({ basin, config: { createStreamOnAppend: false } });
    const other = uniqueName('present');
    await fixture.log.stream(other).append([{ body: 'o' }]);
    for (const conditions of [{ matchSeqNum: 3 }, { fencingToken: 'w1' }, {}]) {
      const missing = await rejectionOf(
        fixture.log.appendMany([
          { stream: other, records: [{ body: 'x' }] },
          { basin, stream: 'nope', records: [{ body: 'x' }], ...conditions },
        ]),
      );
      expect(missing).toBeInstanceOf(StreamNotFoundError);
      const noBasin = await rejectionOf(
        fixture.log.appendMany([
          { basin: uniqueName('no-such-basin'), stream: 'nope', records: [{ body: 'x' }], ...conditions },
          { stream: other, records: [{ body: 'x' }] },
        ]),
      );
      expect(noBasin).toBeInstanceOf(BasinNotFoundError);
    }
    expect(await fixture.log.stream(other).checkTail()).toMatchObject({ seqNum: 1 });
    // Where the basin creates streams on append, a missing stream is a new one: tail 0, token ''.
    const fresh = await rejectionOf(
      fixture.log.appendMany([{ stream: uniqueName('fresh'), records: [{ body: 'x' }], matchSeqNum: 3 }]),
    );
    expect(fresh).toMatchObject({ expectedSeqNum: 0 });
  });

  it("fails with StorageError when the lookup of a missing stream's basin loses its connection", async () => {
    const proxy = await TcpProxy.start(fixture.connectionString);
    try {
      const log = await fixture.connect({ connectionString: proxy.connectionString, migrate: false });
      const existing = uniqueName('existing');
      await log.stream(existing).append([{ body: 'a' }]);
      proxy.cutNext({ containing: 'create_stream_on_append", "ts_mode', when: 'before-send' });
      const error = await rejectionOf(
        log.appendMany([
          { stream: existing, records: [{ body: 'b' }] },
          { stream: uniqueName('missing'), records: [] },
        ]),
      );
      expect(proxy.cuts).toBe(1);
      expect(error).toBeInstanceOf(StorageError);
      expect((error as StorageError).connectionLost).toBe(true);
      await log.close();
    } finally {
      await proxy.close();
    }
  });

  it('records a command id with the append; the same id again writes nothing', async () => {
    const a = uniqueName('cmd-a');
    const b = uniqueName('cmd-b');
    const items = [
      { stream: a, records: [{ body: 'a' }] },
      { stream: b, records: [{ body: 'b' }, { body: 'b2' }] },
    ];
    await fixture.log.appendMany(items, { commandId: 'c-1' });
    expect(await fixture.log.lookupCommand('c-1', [{ stream: a }, { stream: b }])).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ stream: a, start: 0, end: 1 }),
        expect.objectContaining({ stream: b, start: 0, end: 2 }),
      ]),
    );
    const again = await rejectionOf(fixture.log.appendMany(items, { commandId: 'c-1' }));
    expect(again).toBeInstanceOf(DuplicateCommandError);
    // Also when only one of the streams saw the id.
    const partial = await rejectionOf(
      fixture.log.appendMany([{ stream: uniqueName('cmd-c'), records: [{ body: 'c' }] }, items[0]!], {
        commandId: 'c-1',
      }),
    );
    expect(partial).toBeInstanceOf(DuplicateCommandError);
    expect(await fixture.log.stream(a).checkTail()).toMatchObject({ seqNum: 1 });
    expect(await fixture.log.stream(b).checkTail()).toMatchObject({ seqNum: 2 });
    expect(await fixture.log.lookupCommand('c-2', [{ stream: a }])).toEqual([]);
  });

  it('lets exactly one of racing appends create the same new streams', async () => {
    for (let round = 0; round < 10; round++) {
      const names = [uniqueName('new-a'), uniqueName('new-b')];
      const outcomes = await Promise.allSettled(
        Array.from({ length: 8 }, (_, w) =>
          fixture.log.appendMany(
            (w % 2 === 0 ? names : [...names].reverse()).map((stream) => ({
              stream,
              records: [{ body: `w${w}` }],
              matchSeqNum: 0,
            })),
          ),
        ),
      );
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      for (const o of outcomes) {
        if (o.status === 'rejected')
          expect(o.reason).toMatchObject({ code: 'seq_num_mismatch', expectedSeqNum: 1 });
      }
      const bodies = await Promise.all(
        names.map(async (n) => (await fixture.log.stream(n).read({ seqNum: 0 })).records),
      );
      expect(bodies.map((r) => r.length)).toEqual([1, 1]);
      expect(bodies[0]![0]!.body).toBe(bodies[1]![0]!.body);
    }
  });

  it('never deadlocks when appends take the same streams in opposite orders', async () => {
    const names = [uniqueName('dl-a'), uniqueName('dl-b'), uniqueName('dl-c')];
    await fixture.log.appendMany(names.map((stream) => ({ stream, records: [{ body: 'init' }] })));
    const rounds = 30;
    const writers = 8;
    let done = 0;
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let r = 0; r < rounds; r++) {
          const order = w % 2 === 0 ? names : [...names].reverse();
          await fixture.log.appendMany(order.map((stream) => ({ stream, records: [{ body: `${w}:${r}` }] })));
          done++;
        }
      }),
    );
    expect(done).toBe(rounds * writers);
    for (const name of names) {
      expect(await fixture.log.stream(name).checkTail()).toMatchObject({ seqNum: 1 + rounds * writers });
    }
  });

  it('keys records by the stream key when a transaction with an older id appends after a newer one', async () => {
    // A transaction takes its id, then a later transaction appends to the stream and commits, then the first
    // runs the multi-stream statement: its records must not get a key below the later one's.
    const a = uniqueName('key-a');
    const b = uniqueName('key-b');
    await fixture.log.appendMany([a, b].map((stream) => ({ stream, records: [{ body: '0' }] })));
    const client = new pg.Client({ connectionString: fixture.connectionString });
    await client.connect();
    try {
      await client.query('begin');
      const { rows } = await client.query<{ xid: string }>('select pg_current_xact_id()::text as xid');
      const old = BigInt(rows[0]!.xid);
      await fixture.log.stream(b).append([{ body: 'later' }]);
      const request = encodeRequest(
        DEFAULT_BASIN,
        [a, b].map((stream) => ({ stream, records: [{ body: 'old' }] })),
        {},
      );
      await client.query(appendManyStatement('fencepost'), request.values);
      // And the one-stream statement, in the same old transaction.
      const one = encodeRequest(DEFAULT_BASIN, [{ stream: b, records: [{ body: 'old, alone' }] }], {});
      await client.query(appendManyOneStatement('fencepost'), one.values);
      await client.query('commit');
      const keys = await client.query<{ name: string; key: string }>(
        `select s.name, r.commit_key::text as key
         from fencepost.records r join fencepost.streams s on s.id = r.stream_id
         where s.name = any($1) order by s.name, r.seq_num`,
        [[a, b]],
      );
      const of = (name: string) => keys.rows.filter((k) => k.name === name).map((k) => BigInt(k.key));
      const [, later, mine, alone] = of(b);
      expect(later!).toBeGreaterThan(old);
      expect(mine!).toBeGreaterThanOrEqual(later!);
      expect(alone!).toBeGreaterThanOrEqual(later!);
      expect(of(a)[1]).toBe(old);
    } finally {
      await client.end();
    }
  });
});
