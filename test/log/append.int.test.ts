/**
 * The append contract: gapless sequence numbers from 0, the ack, batch limits (1–1000 records, 1 MiB metered),
 * bytes round-tripping exactly, and the two conditions (fencing token first, then matchSeqNum). Every rejected
 * append is shown to have written nothing.
 */
import { describe, expect, it } from 'vitest';
import {
  FencepostError,
  FencingTokenMismatchError,
  InvalidArgumentError,
  RangeNotSatisfiableError,
  SeqNumMismatchError,
  StreamNotFoundError,
  type AppendRecord,
  type Stream,
  type StreamPosition,
} from '../../src/index.js';
import { rejectionOf } from '../support/assertions.js';
import { uniqueName, useEventLog } from '../support/event-log.js';

const fixture = useEventLog();

const MiB = 1024 * 1024;

/** A fresh stream of the default basin (created on its first append). */
function freshStream(): Stream {
  return fixture.log.stream(uniqueName('append'));
}

/** A stream holding one record, `seed`, so that a rejected append can be shown to change nothing. */
async function seededStream(): Promise<{ stream: Stream; tail: StreamPosition }> {
  const stream = freshStream();
  const ack = await stream.append([{ body: 'seed' }]);
  return { stream, tail: ack.tail };
}

/** Every body of the stream from seqNum 0, as strings. */
async function bodies(stream: Stream): Promise<string[]> {
  const result: string[] = [];
  for await (const record of stream.readSession({ seqNum: 0 })) result.push(record.body);
  return result;
}

/** Asserts the stream still holds exactly the seed record and its tail has not moved. */
async function expectOnlySeed(stream: Stream, tail: StreamPosition): Promise<void> {
  expect(await stream.checkTail()).toEqual(tail);
  expect(await bodies(stream)).toEqual(['seed']);
}

/** S2's metered size of a record, computed here independently of the library. */
function metered(record: AppendRecord): number {
  const length = (value: string | Uint8Array | undefined) =>
    value === undefined ? 0 : typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.byteLength;
  const headers = record.headers ?? [];
  return (
    8 +
    2 * headers.length +
    headers.reduce((sum, [name, value]) => sum + length(name) + length(value), 0) +
    length(record.body)
  );
}

/**
 * 1000 records of exactly 1 MiB metered in total, each with a header: 999 records of 1048 bytes and a last one
 * of 1624 bytes. `extra` bytes are added to the last body.
 */
function oneMebibyteBatch(extra = 0): AppendRecord[] {
  const records: AppendRecord[] = [];
  for (let i = 0; i < 999; i++) records.push({ headers: [['h', 'v']], body: 'x'.repeat(1036) });
  records.push({ headers: [['h', 'v']], body: 'y'.repeat(1612 + extra) });
  return records;
}

describe('sequence numbers', () => {
  it('numbers the first record of a stream 0', async () => {
    const stream = freshStream();
    const ack = await stream.append([{ body: 'first' }]);
    expect(ack.start.seqNum).toBe(0);
    const { records } = await stream.read({ seqNum: 0 });
    expect(records.map((r) => r.seqNum)).toEqual([0]);
  });

  it('numbers records without gaps across batches', async () => {
    const stream = freshStream();
    const acks = [];
    for (const size of [3, 1, 2]) {
      acks.push(await stream.append(Array.from({ length: size }, (_, i) => ({ body: `${size}-${i}` }))));
    }
    expect(acks.map((a) => [a.start.seqNum, a.end.seqNum])).toEqual([
      [0, 3],
      [3, 4],
      [4, 6],
    ]);
    const { records } = await stream.read({ seqNum: 0 });
    expect(records.map((r) => r.seqNum)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(records.map((r) => r.body)).toEqual(['3-0', '3-1', '3-2', '1-0', '2-0', '2-1']);
  });
});

describe('the ack', () => {
  it('is { start, end, tail } with end.seqNum one past the last record and the timestamps of the records', async () => {
    const { stream } = await seededStream();
    const ack = await stream.append([{ body: 'a' }, { body: 'b' }, { body: 'c' }]);
    const { records } = await stream.read({ seqNum: 1 });
    expect(records.map((r) => r.seqNum)).toEqual([1, 2, 3]);
    expect(ack).toEqual({
      start: { seqNum: 1, timestamp: records[0]!.timestamp },
      end: { seqNum: 4, timestamp: records[2]!.timestamp },
      tail: { seqNum: 4, timestamp: records[2]!.timestamp },
    });
  });

  it('of a single record has start and end one apart with the same timestamp', async () => {
    const stream = freshStream();
    const ack = await stream.append([{ body: 'only' }]);
    expect(ack.end.seqNum - ack.start.seqNum).toBe(1);
    expect(ack.end.timestamp).toBe(ack.start.timestamp);
  });

  it('carries the tail that checkTail reports right after it', async () => {
    const stream = freshStream();
    const ack = await stream.append([{ body: 'a' }, { body: 'b' }]);
    expect(await stream.checkTail()).toEqual(ack.tail);
  });
});

describe('batch size', () => {
  it('accepts a batch of 1000 records', async () => {
    const stream = freshStream();
    const records = Array.from({ length: 1000 }, (_, i) => ({ body: String(i) }));
    const ack = await stream.append(records);
    expect([ack.start.seqNum, ack.end.seqNum]).toEqual([0, 1000]);
    const read = await stream.read({ seqNum: 0 });
    expect(read.records.map((r) => r.body)).toEqual(records.map((r) => r.body));
  });

  it('rejects an empty batch and writes nothing', async () => {
    const { stream, tail } = await seededStream();
    const error = await rejectionOf(stream.append([]));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(/1–1000 records; got 0/);
    await expectOnlySeed(stream, tail);
  });

  it('rejects a batch of 1001 records and writes nothing', async () => {
    const { stream, tail } = await seededStream();
    const records = Array.from({ length: 1001 }, () => ({ body: 'x' }));
    const error = await rejectionOf(stream.append(records));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(/got 1001/);
    await expectOnlySeed(stream, tail);
  });

  it('rejects a first batch of 1001 records without creating the stream', async () => {
    const stream = freshStream();
    const records = Array.from({ length: 1001 }, () => ({ body: 'x' }));
    await expect(stream.append(records)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(stream.checkTail()).rejects.toBeInstanceOf(StreamNotFoundError);
  });
});

describe('metered size (8 + 2 per header + header bytes + body bytes per record, at most 1 MiB)', () => {
  it('accepts 1000 records with headers of exactly 1 MiB metered', async () => {
    const records = oneMebibyteBatch();
    expect(records.reduce((sum, r) => sum + metered(r), 0)).toBe(MiB);
    const stream = freshStream();
    const ack = await stream.append(records);
    expect(ack.end.seqNum).toBe(1000);
    const last = await stream.read({ seqNum: 999 });
    expect(last.records[0]!.body).toBe('y'.repeat(1612));
  });

  it('rejects 1 MiB + 1 byte metered and writes nothing', async () => {
    const records = oneMebibyteBatch(1);
    expect(records.reduce((sum, r) => sum + metered(r), 0)).toBe(MiB + 1);
    const { stream, tail } = await seededStream();
    const error = await rejectionOf(stream.append(records));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain(String(MiB + 1));
    await expectOnlySeed(stream, tail);
  });

  it('accepts a single record of exactly 1 MiB metered and returns it intact', async () => {
    const record = { headers: [['k', 'value']] as const, body: new Uint8Array(MiB - 8 - 2 - 6).fill(7) };
    expect(metered(record)).toBe(MiB);
    const stream = freshStream();
    await stream.append([record]);
    const { records } = await stream.read({ seqNum: 0, as: 'bytes' });
    expect(records[0]!.body.byteLength).toBe(record.body.byteLength);
    expect(Buffer.from(records[0]!.body).equals(Buffer.from(record.body))).toBe(true);
  });

  it('rejects a single record of 1 MiB + 1 byte metered and writes nothing', async () => {
    const record = { headers: [['k', 'value']] as const, body: new Uint8Array(MiB - 8 - 2 - 6 + 1) };
    expect(metered(record)).toBe(MiB + 1);
    const { stream, tail } = await seededStream();
    await expect(stream.append([record])).rejects.toBeInstanceOf(InvalidArgumentError);
    await expectOnlySeed(stream, tail);
  });

  it('counts UTF-8 bytes of string bodies, not characters', async () => {
    // 524,285 characters, 1,048,570 bytes: under the limit counted in characters, over it in bytes.
    const record = { body: 'é'.repeat(524_285) };
    expect(metered(record)).toBe(MiB + 2);
    const { stream, tail } = await seededStream();
    await expect(stream.append([record])).rejects.toBeInstanceOf(InvalidArgumentError);
    await expectOnlySeed(stream, tail);
  });
});

describe('headers', () => {
  it('rejects an empty header name in a record that has other headers, and writes nothing', async () => {
    const { stream, tail } = await seededStream();
    const error = await rejectionOf(
      stream.append([
        { body: 'ok' },
        {
          headers: [
            ['type', 'x'],
            ['', 'fence'],
          ],
          body: 'bad',
        },
      ]),
    );
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(/record 1 header 1 has an empty name/);
    await expectOnlySeed(stream, tail);
  });

  it('rejects an empty header name given as an empty Uint8Array next to other headers', async () => {
    const { stream, tail } = await seededStream();
    const record: AppendRecord = {
      headers: [
        [new Uint8Array(0), 'v'],
        ['b', 'w'],
      ],
    };
    await expect(stream.append([record])).rejects.toBeInstanceOf(InvalidArgumentError);
    await expectOnlySeed(stream, tail);
  });

  it('keeps headers in the order given, duplicates included', async () => {
    const stream = freshStream();
    const headers: [string, string][] = [
      ['zeta', '1'],
      ['alpha', '2'],
      ['zeta', '3'],
      ['mid', ''],
    ];
    await stream.append([{ headers, body: 'b' }]);
    const { records } = await stream.read({ seqNum: 0 });
    expect(records[0]!.headers).toEqual(headers);
  });

  it('reads a record without headers back with an empty header list', async () => {
    const stream = freshStream();
    await stream.append([{ body: 'plain' }]);
    const { records } = await stream.read({ seqNum: 0 });
    expect(records[0]!.headers).toEqual([]);
  });
});

describe('bytes round-trip', () => {
  const notUtf8 = new Uint8Array([0xff, 0x00, 0xc3, 0x28, 0x80, 0xfe, 0x0a]);

  it('returns header values that Postgres must quote exactly as they were', async () => {
    const stream = freshStream();
    const headers: [string, string][] = [
      ['comma', 'x,y'],
      ['quote', '"q"'],
      ['braces', '{}'],
      ['spaces', ' sp '],
      ['null', 'NULL'],
      ['empty', ''],
      ['backslash', 'back\\slash'],
      ['unicode', 'ünï 👋'],
    ];
    await stream.append([{ body: 'alone', headers }]); // the single-record statement
    await stream.append([
      { body: 'in a batch', headers },
      { body: 'and again', headers },
    ]);
    const { records } = await stream.read({ seqNum: 0 });
    expect(records.map((r) => r.headers)).toEqual([headers, headers, headers]);
  });

  it('keeps each record’s own headers when records of a batch have different numbers of them', async () => {
    const stream = freshStream();
    const layouts: [string, string][][] = [
      [],
      [
        ['a', '1'],
        ['b', '2'],
      ],
      [['c', '3']],
      [],
      [
        ['d', '4'],
        ['e', '5'],
      ],
    ];
    await stream.append(layouts.map((headers, i) => ({ body: `r${i}`, headers })));
    await stream.append(layouts.map((headers, i) => ({ body: `again ${i}`, headers, timestamp: 1 + i })));
    const { records } = await stream.read({ seqNum: 0 });
    expect(records.map((r) => r.headers)).toEqual([...layouts, ...layouts]);
  });

  it('keeps each record’s own headers when records of a batch have as many, the same or nearly', async () => {
    const stream = freshStream();
    const same: [string, string][] = [
      ['type', 'A'],
      ['v', '1'],
    ];
    const batches: [string, string][][][] = [
      [same, same, same], // one header array for all (sent once)
      [
        same,
        same,
        [
          ['type', 'A'],
          ['v', '2'],
        ],
      ], // the last value differs
      [
        same,
        [
          ['v', '1'],
          ['type', 'A'],
        ],
        same,
      ], // the same pairs in another order
    ];
    for (const [i, batch] of batches.entries()) {
      await stream.append(batch.map((headers) => ({ body: `b${i}`, headers })));
      // with client timestamps: the statement that returns timestamps
      await stream.append(batch.map((headers, k) => ({ body: `t${i}`, headers, timestamp: 1 + k })));
    }
    const { records } = await stream.read({ seqNum: 0 });
    expect(records.map((r) => r.headers)).toEqual(batches.flatMap((batch) => [...batch, ...batch]));
  });

  it('keeps text headers and byte headers of one batch apart, each exactly', async () => {
    const stream = freshStream();
    await stream.append([
      { body: 'a', headers: [['type', 'Text']] },
      { body: 'b', headers: [['raw', notUtf8]] },
      { body: 'c', headers: [['nul', 'x\u0000y']] },
    ]);
    await stream.append([{ body: 'd', headers: [['type', 'Alone']] }]);
    const { records } = await stream.read({ seqNum: 0, as: 'bytes' });
    expect(
      records.map((r) => r.headers.map(([n, v]) => [Buffer.from(n).toString(), Buffer.from(v)])),
    ).toEqual([
      [['type', Buffer.from('Text')]],
      [['raw', Buffer.from(notUtf8)]],
      [['nul', Buffer.from('x\u0000y')]],
      [['type', Buffer.from('Alone')]],
    ]);
    const strings = await stream.read({ seqNum: 0 });
    expect(strings.records.map((r) => r.headers)).toEqual([
      [['type', 'Text']],
      [['raw', Buffer.from(notUtf8).toString('utf8')]],
      [['nul', 'x\u0000y']],
      [['type', 'Alone']],
    ]);
  });

  it('returns a string body as the same string, multi-byte characters included', async () => {
    const stream = freshStream();
    const body = 'héllo, wörld 👋 \u0000 "quoted" \\ end';
    await stream.append([{ body }]);
    const { records } = await stream.read({ seqNum: 0 });
    expect(records[0]!.body).toBe(body);
  });

  it('returns a string body as its UTF-8 bytes when read as bytes', async () => {
    const stream = freshStream();
    await stream.append([{ body: 'é👋' }]);
    const { records } = await stream.read({ seqNum: 0, as: 'bytes' });
    expect([...records[0]!.body]).toEqual([...Buffer.from('é👋', 'utf8')]);
  });

  it('returns a Uint8Array body byte for byte, including bytes that are not UTF-8', async () => {
    const stream = freshStream();
    await stream.append([{ body: notUtf8 }]);
    const { records } = await stream.read({ seqNum: 0, as: 'bytes' });
    expect(records[0]!.body).toBeInstanceOf(Uint8Array);
    expect([...records[0]!.body]).toEqual([...notUtf8]);
  });

  it('stores only the viewed bytes of a Uint8Array that is a view into a larger buffer', async () => {
    const stream = freshStream();
    const backing = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    await stream.append([{ body: backing.subarray(2, 5) }]);
    const { records } = await stream.read({ seqNum: 0, as: 'bytes' });
    expect([...records[0]!.body]).toEqual([3, 4, 5]);
  });

  it('returns an empty or absent body as empty', async () => {
    const stream = freshStream();
    await stream.append([{ body: '' }, {}, { body: new Uint8Array(0) }]);
    const asStrings = await stream.read({ seqNum: 0 });
    expect(asStrings.records.map((r) => r.body)).toEqual(['', '', '']);
    const asBytes = await stream.read({ seqNum: 0, as: 'bytes' });
    expect(asBytes.records.map((r) => r.body.byteLength)).toEqual([0, 0, 0]);
  });

  it('returns header names and values given as Uint8Array byte for byte', async () => {
    const stream = freshStream();
    const name = new Uint8Array([0x80, 0x61]);
    await stream.append([
      {
        headers: [
          [name, notUtf8],
          ['text', 'välue'],
        ],
      },
    ]);
    const { records } = await stream.read({ seqNum: 0, as: 'bytes' });
    const headers = records[0]!.headers.map(([n, v]) => [[...n], [...v]]);
    expect(headers).toEqual([
      [[...name], [...notUtf8]],
      [[...Buffer.from('text')], [...Buffer.from('välue', 'utf8')]],
    ]);
  });

  it('replaces bytes that are not UTF-8 with U+FFFD when read as strings', async () => {
    const stream = freshStream();
    const bytes = new Uint8Array([0x61, 0xff, 0x62]);
    await stream.append([{ headers: [[bytes, bytes]], body: bytes }]);
    const { records } = await stream.read({ seqNum: 0 });
    expect(records[0]!.body).toBe('a\uFFFDb');
    expect(records[0]!.headers).toEqual([['a\uFFFDb', 'a\uFFFDb']]);
  });
});

describe('matchSeqNum', () => {
  it('appends when it equals the next seqNum, 0 on a new stream', async () => {
    const stream = freshStream();
    expect((await stream.append([{ body: 'a' }], { matchSeqNum: 0 })).start.seqNum).toBe(0);
    expect((await stream.append([{ body: 'b' }, { body: 'c' }], { matchSeqNum: 1 })).end.seqNum).toBe(3);
    expect((await stream.append([{ body: 'd' }], { matchSeqNum: 3 })).start.seqNum).toBe(3);
    expect(await bodies(stream)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('fails with SeqNumMismatchError naming the expected seqNum, and writes nothing', async () => {
    const { stream, tail } = await seededStream();
    const error = await rejectionOf(stream.append([{ body: 'late' }], { matchSeqNum: 0 }));
    expect(error).toBeInstanceOf(SeqNumMismatchError);
    expect(error).toMatchObject({ code: 'seq_num_mismatch', expectedSeqNum: 1, indefinite: false });
    await expectOnlySeed(stream, tail);
  });

  it('fails when it is ahead of the tail', async () => {
    const { stream, tail } = await seededStream();
    const error = await rejectionOf(stream.append([{ body: 'early' }], { matchSeqNum: 5 }));
    expect(error).toMatchObject({ code: 'seq_num_mismatch', expectedSeqNum: 1 });
    await expectOnlySeed(stream, tail);
  });

  it('fails on a stream that does not exist yet unless it is 0, and does not create the stream', async () => {
    const stream = freshStream();
    const error = await rejectionOf(stream.append([{ body: 'x' }], { matchSeqNum: 1 }));
    expect(error).toBeInstanceOf(SeqNumMismatchError);
    expect((error as SeqNumMismatchError).expectedSeqNum).toBe(0);
    await expect(stream.checkTail()).rejects.toBeInstanceOf(StreamNotFoundError);
  });

  it.each([
    ['negative', -1],
    ['non-integer', 1.5],
    ['NaN', NaN],
    ['infinite', Infinity],
    ['beyond 2^53', 2 ** 53],
  ])('rejects a %s matchSeqNum with InvalidArgumentError naming the value', async (_, value) => {
    const { stream, tail } = await seededStream();
    const error = await rejectionOf(stream.append([{ body: 'x' }], { matchSeqNum: value }));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain('matchSeqNum');
    expect((error as Error).message).toContain(String(value));
    await expectOnlySeed(stream, tail);
  });
});

describe('fencing token', () => {
  it('is the empty string on a new stream', async () => {
    const stream = freshStream();
    const error = await rejectionOf(stream.append([{ body: 'x' }], { fencingToken: 'someone' }));
    expect(error).toBeInstanceOf(FencingTokenMismatchError);
    expect((error as FencingTokenMismatchError).expectedFencingToken).toBe('');
    await expect(stream.checkTail()).rejects.toBeInstanceOf(StreamNotFoundError);
    await stream.append([{ body: 'x' }], { fencingToken: '' });
    expect(await bodies(stream)).toEqual(['x']);
  });

  it('fails with FencingTokenMismatchError naming the current token, and writes nothing', async () => {
    const stream = freshStream();
    await stream.fence('owner-1');
    const tail = await stream.checkTail();
    const error = await rejectionOf(stream.append([{ body: 'x' }], { fencingToken: 'owner-2' }));
    expect(error).toBeInstanceOf(FencingTokenMismatchError);
    expect(error).toMatchObject({
      code: 'fencing_token_mismatch',
      expectedFencingToken: 'owner-1',
      indefinite: false,
    });
    expect(await stream.checkTail()).toEqual(tail);
  });

  it('lets an append with the current token through', async () => {
    const stream = freshStream();
    await stream.fence('owner-1');
    const ack = await stream.append([{ body: 'x' }], { fencingToken: 'owner-1' });
    expect(ack.start.seqNum).toBe(1);
  });

  it('never fences an append that carries no token', async () => {
    const stream = freshStream();
    await stream.fence('owner-1');
    const ack = await stream.append([{ body: 'unfenced' }]);
    expect(ack.start.seqNum).toBe(1);
    const withSeqNum = await stream.append([{ body: 'unfenced too' }], { matchSeqNum: 2 });
    expect(withSeqNum.start.seqNum).toBe(2);
  });

  it('is checked before matchSeqNum: when both fail, the token mismatch is reported', async () => {
    const stream = freshStream();
    await stream.fence('owner-1');
    const tail = await stream.checkTail();
    const error = await rejectionOf(
      stream.append([{ body: 'x' }], { fencingToken: 'owner-2', matchSeqNum: 99 }),
    );
    expect(error).toBeInstanceOf(FencingTokenMismatchError);
    expect((error as FencingTokenMismatchError).expectedFencingToken).toBe('owner-1');
    expect(await stream.checkTail()).toEqual(tail);
  });

  it('when the token matches and matchSeqNum does not, reports the seqNum mismatch', async () => {
    const stream = freshStream();
    await stream.fence('owner-1');
    const error = await rejectionOf(
      stream.append([{ body: 'x' }], { fencingToken: 'owner-1', matchSeqNum: 0 }),
    );
    expect(error).toBeInstanceOf(SeqNumMismatchError);
    expect((error as SeqNumMismatchError).expectedSeqNum).toBe(1);
  });

  it('accepts a 36-byte token option (it is compared, not refused)', async () => {
    const stream = freshStream();
    await stream.append([{ body: 'x' }]);
    const error = await rejectionOf(stream.append([{ body: 'y' }], { fencingToken: 't'.repeat(36) }));
    expect(error).toBeInstanceOf(FencingTokenMismatchError);
  });

  it.each([
    ['37 ASCII characters', 't'.repeat(37)],
    ['13 three-byte characters (39 bytes)', '€'.repeat(13)],
  ])('rejects a token option of %s with InvalidArgumentError and writes nothing', async (_, token) => {
    const { stream, tail } = await seededStream();
    const error = await rejectionOf(stream.append([{ body: 'x' }], { fencingToken: token }));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(/fencingToken must be at most 36 bytes/);
    await expectOnlySeed(stream, tail);
  });
});

describe('errors', () => {
  it('every error is a FencepostError with a string code and indefinite === false', async () => {
    const stream = freshStream();
    await stream.fence('owner');
    const errors = [
      await rejectionOf(stream.append([])),
      await rejectionOf(stream.append([{ body: 'x' }], { matchSeqNum: 0 })),
      await rejectionOf(stream.append([{ body: 'x' }], { fencingToken: 'intruder' })),
      await rejectionOf(stream.read({ seqNum: 100 })),
      await rejectionOf(freshStream().read({ seqNum: 0 })),
    ];
    expect(errors.map((e) => (e as { constructor: unknown }).constructor)).toEqual([
      InvalidArgumentError,
      SeqNumMismatchError,
      FencingTokenMismatchError,
      RangeNotSatisfiableError,
      StreamNotFoundError,
    ]);
    expect(errors.map((e) => (e as FencepostError).code)).toEqual([
      'invalid',
      'seq_num_mismatch',
      'fencing_token_mismatch',
      'range_not_satisfiable',
      'stream_not_found',
    ]);
    for (const error of errors) {
      expect(error).toBeInstanceOf(FencepostError);
      expect(error).toBeInstanceOf(Error);
      expect((error as FencepostError).indefinite).toBe(false);
      expect((error as Error).name).toBe((error as { constructor: { name: string } }).constructor.name);
      expect((error as Error).message.length).toBeGreaterThan(0);
    }
  });
});
