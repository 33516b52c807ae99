/**
 * Command records: a record with exactly one header whose name is empty. `fence` sets the stream's fencing
 * token (its body, at most 36 bytes without NUL; empty clears it); `trim` moves the trim point (its body, an
 * 8-byte big-endian seqNum) forward. Both take a seqNum and are returned by reads; anything else is rejected.
 */
import { describe, expect, it, vi } from 'vitest';
import {
  FencingTokenMismatchError,
  InvalidArgumentError,
  RangeNotSatisfiableError,
  SeqNumMismatchError,
  type Stream,
} from '../../src/index.js';
import { rejectionOf } from '../support/assertions.js';
import { uniqueName, useEventLog } from '../support/event-log.js';

const fixture = useEventLog();

function freshStream(): Stream {
  return fixture.log.stream(uniqueName('cmd'));
}

/** A stream holding records `r0`…`r{count-1}`. */
async function streamOf(count: number): Promise<Stream> {
  const stream = freshStream();
  await stream.append(Array.from({ length: count }, (_, i) => ({ body: `r${i}` })));
  return stream;
}

/** An 8-byte big-endian seqNum, the body of a trim command. */
function trimBody(seqNum: number | bigint): Uint8Array {
  const body = Buffer.alloc(8);
  body.writeBigUInt64BE(BigInt(seqNum));
  return body;
}

async function seqNumsFrom(stream: Stream, seqNum: number): Promise<number[]> {
  const { records } = await stream.read({ seqNum });
  return records.map((r) => r.seqNum);
}

/** How many of the stream's records are still stored, trimmed or not (straight from the table). */
async function storedRecords(stream: Stream): Promise<number> {
  const schema = fixture.log.schema;
  const { rows } = await fixture.log.pool.query<{ n: string }>(
    `select count(*) as n from "${schema}".records r join "${schema}".streams s on s.id = r.stream_id
     where s.basin = $1 and s.name = $2`,
    [stream.basin, stream.name],
  );
  return Number(rows[0]!.n);
}

describe('fence', () => {
  it('is a record with a seqNum, read back with header ["", "fence"] and the token as body', async () => {
    const stream = await streamOf(2);
    const ack = await stream.fence('writer-1');
    expect([ack.start.seqNum, ack.end.seqNum]).toEqual([2, 3]);
    const { records } = await stream.read({ seqNum: 2 });
    expect(records).toEqual([
      { seqNum: 2, timestamp: ack.start.timestamp, headers: [['', 'fence']], body: 'writer-1' },
    ]);
  });

  it('takes effect for every later append that carries a token', async () => {
    const stream = freshStream();
    await stream.fence('writer-1');
    for (const stale of ['', 'writer-0', 'writer-10']) {
      const error = await rejectionOf(stream.append([{ body: 'x' }], { fencingToken: stale }));
      expect(error).toBeInstanceOf(FencingTokenMismatchError);
      expect((error as FencingTokenMismatchError).expectedFencingToken).toBe('writer-1');
    }
    await stream.append([{ body: 'ok' }], { fencingToken: 'writer-1' });
    await stream.append([{ body: 'ok again' }], { fencingToken: 'writer-1' });
    expect(await seqNumsFrom(stream, 0)).toEqual([0, 1, 2]);
  });

  it('replaces an earlier token', async () => {
    const stream = freshStream();
    await stream.fence('writer-1');
    await stream.fence('writer-2', { fencingToken: 'writer-1' });
    await expect(stream.append([{ body: 'x' }], { fencingToken: 'writer-1' })).rejects.toMatchObject({
      expectedFencingToken: 'writer-2',
    });
    await stream.append([{ body: 'x' }], { fencingToken: 'writer-2' });
  });

  it('with an empty token clears the fence', async () => {
    const stream = freshStream();
    await stream.fence('writer-1');
    await stream.fence('', { fencingToken: 'writer-1' });
    await expect(stream.append([{ body: 'x' }], { fencingToken: 'writer-1' })).rejects.toMatchObject({
      expectedFencingToken: '',
    });
    const ack = await stream.append([{ body: 'x' }], { fencingToken: '' });
    expect(ack.start.seqNum).toBe(2);
  });

  it('is itself refused when it carries a stale token, leaving the token unchanged', async () => {
    const stream = freshStream();
    await stream.fence('writer-1');
    const error = await rejectionOf(stream.fence('writer-2', { fencingToken: 'writer-0' }));
    expect(error).toBeInstanceOf(FencingTokenMismatchError);
    await stream.append([{ body: 'x' }], { fencingToken: 'writer-1' });
    expect(await seqNumsFrom(stream, 0)).toEqual([0, 1]);
  });

  it('with matchSeqNum lets exactly one of two candidates that read the same tail win', async () => {
    const stream = await streamOf(3);
    const { seqNum } = await stream.checkTail();
    await stream.fence('candidate-a', { matchSeqNum: seqNum });
    const error = await rejectionOf(stream.fence('candidate-b', { matchSeqNum: seqNum }));
    expect(error).toBeInstanceOf(SeqNumMismatchError);
    expect((error as SeqNumMismatchError).expectedSeqNum).toBe(seqNum + 1);
    await expect(stream.append([{ body: 'x' }], { fencingToken: 'candidate-b' })).rejects.toMatchObject({
      expectedFencingToken: 'candidate-a',
    });
  });

  it('accepts a token of 36 bytes, counted in UTF-8 bytes', async () => {
    const stream = freshStream();
    const token = '€'.repeat(12);
    expect(Buffer.byteLength(token)).toBe(36);
    await stream.fence(token);
    await stream.append([{ body: 'x' }], { fencingToken: token });
    const { records } = await stream.read({ seqNum: 0 });
    expect(records[0]!.body).toBe(token);
  });

  it.each([
    ['37 ASCII characters', 't'.repeat(37)],
    ['13 three-byte characters (39 bytes)', '€'.repeat(13)],
  ])('rejects a token of %s and writes nothing', async (_, token) => {
    const stream = await streamOf(1);
    const error = await rejectionOf(stream.fence(token));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(/at most 36 bytes/);
    expect(await stream.checkTail()).toMatchObject({ seqNum: 1 });
  });

  it('as a raw command record with a 37-byte body is rejected and writes nothing', async () => {
    const stream = await streamOf(1);
    const append = stream.append([{ headers: [['', 'fence']], body: 't'.repeat(37) }]);
    await expect(append).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(await stream.checkTail()).toMatchObject({ seqNum: 1 });
    await stream.append([{ body: 'x' }], { fencingToken: '' });
  });

  it('as a raw command record with a body that is not UTF-8 is rejected', async () => {
    const stream = await streamOf(1);
    const append = stream.append([{ headers: [['', 'fence']], body: new Uint8Array([0xff, 0xfe]) }]);
    await expect(append).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(await stream.checkTail()).toMatchObject({ seqNum: 1 });
  });

  describe('with a NUL in the token (Postgres text cannot hold one)', () => {
    /**
     * Runs `attempt` on a one-record stream: it must be refused, naming the rule and the value, before any
     * connection is taken from the pool; the stream is left as it was.
     */
    async function refused(attempt: (stream: Stream) => Promise<unknown>, rule: RegExp): Promise<void> {
      const stream = await streamOf(1);
      const connect = vi.spyOn(fixture.log.pool, 'connect');
      try {
        const error = await rejectionOf(attempt(stream));
        expect(error).toBeInstanceOf(InvalidArgumentError);
        expect((error as Error).message).toMatch(rule);
        expect((error as Error).message).toContain('"a\\u0000b"');
        expect(connect).not.toHaveBeenCalled();
      } finally {
        connect.mockRestore();
      }
      // Nothing was written, and the token is still the initial one.
      expect(await stream.checkTail()).toMatchObject({ seqNum: 1 });
      await stream.append([{ body: 'x' }], { fencingToken: '' });
    }

    it('is refused by fence()', async () => {
      await refused((stream) => stream.fence('a\0b'), /new fencing token must not contain NUL/);
    });

    it('is refused as an append condition', async () => {
      await refused(
        (stream) => stream.append([{ body: 'x' }], { fencingToken: 'a\0b' }),
        /fencingToken must not contain NUL/,
      );
    });

    it('is refused as an appendMany condition', async () => {
      await refused(
        (stream) =>
          fixture.log.appendMany([{ stream: stream.name, records: [{ body: 'x' }], fencingToken: 'a\0b' }]),
        /fencingToken must not contain NUL/,
      );
    });

    it.each([
      ['a string', 'a\0b'],
      ['bytes', new Uint8Array([0x61, 0, 0x62])],
    ])('is refused in the body of a raw fence command record given as %s', async (_, body) => {
      await refused(
        (stream) => stream.append([{ headers: [['', 'fence']], body }]),
        /record 0 is a fence command: its body \(the new token\) must not contain NUL/,
      );
    });
  });

  it('as a raw command record works like fence()', async () => {
    const stream = freshStream();
    await stream.append([{ headers: [['', 'fence']], body: 'raw-token' }]);
    await expect(stream.append([{ body: 'x' }], { fencingToken: 'other' })).rejects.toMatchObject({
      expectedFencingToken: 'raw-token',
    });
  });
});

describe('trim', () => {
  it('is a record with a seqNum, read back with header ["", "trim"] and an 8-byte big-endian body', async () => {
    const stream = await streamOf(3);
    const ack = await stream.trim(1);
    expect(ack.start.seqNum).toBe(3);
    const { records } = await stream.read({ seqNum: 3, as: 'bytes' });
    expect(records).toHaveLength(1);
    expect(records[0]!.seqNum).toBe(3);
    expect(
      records[0]!.headers.map(([n, v]) => [Buffer.from(n).toString(), Buffer.from(v).toString()]),
    ).toEqual([['', 'trim']]);
    expect([...records[0]!.body]).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
  });

  it('hides records below the trim point from reads at once', async () => {
    const stream = await streamOf(10);
    await stream.trim(4);
    expect(await seqNumsFrom(stream, 0)).toEqual([4, 5, 6, 7, 8, 9, 10]);
    expect(await seqNumsFrom(stream, 2)).toEqual([4, 5, 6, 7, 8, 9, 10]);
    expect(await seqNumsFrom(stream, 6)).toEqual([6, 7, 8, 9, 10]);
  });

  it('hides trimmed records from reads by tail offset and by timestamp', async () => {
    const stream = freshStream();
    await stream.append(Array.from({ length: 5 }, (_, i) => ({ body: `r${i}`, timestamp: 1_000 * (i + 1) })));
    await stream.trim(3);
    const byOffset = await stream.read({ tailOffset: 100 });
    expect(byOffset.records.map((r) => r.seqNum)).toEqual([3, 4, 5]);
    const byTimestamp = await stream.read({ timestamp: 0 });
    expect(byTimestamp.records.map((r) => r.seqNum)).toEqual([3, 4, 5]);
  });

  it('hides trimmed records from read sessions', async () => {
    const stream = await streamOf(5);
    await stream.trim(2);
    const seqNums: number[] = [];
    for await (const record of stream.readSession({ seqNum: 0 })) seqNums.push(record.seqNum);
    expect(seqNums).toEqual([2, 3, 4, 5]);
  });

  it('does not move the tail back', async () => {
    const stream = await streamOf(5);
    const ack = await stream.trim(3);
    expect(await stream.checkTail()).toEqual(ack.tail);
    expect(ack.tail.seqNum).toBe(6);
  });

  it('only moves the trim point forward: a lower trim later changes nothing', async () => {
    const stream = await streamOf(10);
    await stream.trim(5);
    await stream.trim(2);
    expect(await seqNumsFrom(stream, 0)).toEqual([5, 6, 7, 8, 9, 10, 11]);
  });

  it('is capped at its own seqNum + 1, so it can trim itself but nothing after it', async () => {
    const stream = await streamOf(3);
    const ack = await stream.trim(1_000);
    expect(ack.start.seqNum).toBe(3);
    // Everything up to and including the trim record (seqNum 3) is gone: a read from 0 starts at the tail, 4.
    const error = await rejectionOf(stream.read({ seqNum: 0 }));
    expect(error).toBeInstanceOf(RangeNotSatisfiableError);
    expect((error as RangeNotSatisfiableError).tail.seqNum).toBe(4);
    await stream.append([{ body: 'after' }, { body: 'after-2' }]);
    const { records } = await stream.read({ seqNum: 0 });
    expect(records.map((r) => [r.seqNum, r.body])).toEqual([
      [4, 'after'],
      [5, 'after-2'],
    ]);
  });

  it('of the largest 8-byte value is capped the same way', async () => {
    const stream = await streamOf(2);
    await stream.append([{ headers: [['', 'trim']], body: trimBody(2n ** 64n - 1n) }]);
    await stream.append([{ body: 'kept' }]);
    expect(await seqNumsFrom(stream, 0)).toEqual([3]);
  });

  it('in the first batch of a new stream applies like any other', async () => {
    const stream = freshStream();
    await stream.append([
      { body: 'a' },
      { body: 'b' },
      { headers: [['', 'trim']], body: trimBody(1) },
      { body: 'c' },
    ]);
    expect(await seqNumsFrom(stream, 0)).toEqual([1, 2, 3]);
  });

  it('leaves reads unchanged after log.sweep() deletes the trimmed records', async () => {
    const stream = await streamOf(20);
    await stream.trim(15);
    expect(await storedRecords(stream)).toBe(21);
    const before = await stream.read({ seqNum: 0 });
    expect(await fixture.log.sweep()).toBeGreaterThanOrEqual(15);
    expect(await storedRecords(stream)).toBe(6);
    expect(await stream.read({ seqNum: 0 })).toEqual(before);
    expect(await stream.read({ seqNum: 3 })).toEqual(before);
  });

  it('works as a raw command record appended with append()', async () => {
    const stream = await streamOf(4);
    const ack = await stream.append([{ headers: [['', 'trim']], body: trimBody(2) }]);
    expect(ack.start.seqNum).toBe(4);
    expect(await seqNumsFrom(stream, 0)).toEqual([2, 3, 4]);
  });

  it('with a 7-byte body is rejected and writes nothing', async () => {
    const stream = await streamOf(3);
    const error = await rejectionOf(
      stream.append([{ headers: [['', 'trim']], body: trimBody(1).subarray(1) }]),
    );
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(/8-byte big-endian/);
    expect(await stream.checkTail()).toMatchObject({ seqNum: 3 });
    expect(await seqNumsFrom(stream, 0)).toEqual([0, 1, 2]);
  });

  it('with a 9-byte body is rejected', async () => {
    const stream = await streamOf(3);
    const body = new Uint8Array(9);
    await expect(stream.append([{ headers: [['', 'trim']], body }])).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    expect(await seqNumsFrom(stream, 0)).toEqual([0, 1, 2]);
  });

  it.each([
    ['negative', -1],
    ['non-integer', 1.5],
  ])('trim() with a %s seqNum is rejected', async (_, seqNum) => {
    const stream = await streamOf(1);
    await expect(stream.trim(seqNum)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(await stream.checkTail()).toMatchObject({ seqNum: 1 });
  });
});

describe('other command records', () => {
  it('an unknown command ["", "nope"] is rejected, naming it, and nothing is written', async () => {
    const stream = await streamOf(2);
    const error = await rejectionOf(stream.append([{ body: 'ok' }, { headers: [['', 'nope']], body: 'x' }]));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain('"nope" is not a command');
    expect(await stream.checkTail()).toMatchObject({ seqNum: 2 });
  });

  it('a command name differing only in case is unknown', async () => {
    const stream = await streamOf(1);
    await expect(stream.append([{ headers: [['', 'FENCE']], body: 'x' }])).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });

  it('a fence and a trim inside a larger batch each take a seqNum and apply after the batch', async () => {
    const stream = await streamOf(2);
    const ack = await stream.append([
      { body: 'a' },
      { headers: [['', 'fence']], body: 'batch-writer' },
      { body: 'b' },
      { headers: [['', 'trim']], body: trimBody(3) },
      { body: 'c' },
    ]);
    expect([ack.start.seqNum, ack.end.seqNum]).toEqual([2, 7]);
    const { records } = await stream.read({ seqNum: 0 });
    // The trim to 3 hides the two older records and `a`; the trim body 0…03 happens to be valid UTF-8.
    expect(records.map((r) => [r.seqNum, r.headers, r.body])).toEqual([
      [3, [['', 'fence']], 'batch-writer'],
      [4, [], 'b'],
      [5, [['', 'trim']], '\0\0\0\0\0\0\0\u0003'],
      [6, [], 'c'],
    ]);
    await expect(stream.append([{ body: 'x' }], { fencingToken: '' })).rejects.toMatchObject({
      expectedFencingToken: 'batch-writer',
    });
    await stream.append([{ body: 'd' }], { fencingToken: 'batch-writer' });
  });

  it('the last of several fences in one batch sets the token', async () => {
    const stream = freshStream();
    await stream.append([
      { headers: [['', 'fence']], body: 'first' },
      { headers: [['', 'fence']], body: 'second' },
    ]);
    await expect(stream.append([{ body: 'x' }], { fencingToken: 'first' })).rejects.toMatchObject({
      expectedFencingToken: 'second',
    });
  });

  it('a fence in a batch does not apply to that batch’s own token check', async () => {
    const stream = freshStream();
    await stream.fence('old');
    await stream.append([{ headers: [['', 'fence']], body: 'new' }, { body: 'x' }], { fencingToken: 'old' });
    await expect(stream.append([{ body: 'y' }], { fencingToken: 'old' })).rejects.toMatchObject({
      expectedFencingToken: 'new',
    });
  });
});
