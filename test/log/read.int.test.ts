/**
 * Reads: where they start (`seqNum`, `timestamp`, `tailOffset`, or the tail), how they are bounded (`count`,
 * `bytes`, `until`, and the unary caps of 1000 records and 1 MiB), `clamp`, `wait`, the 416 of S2
 * (RangeNotSatisfiableError with the tail), `checkTail()`, and read sessions.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import {
  EventLog,
  InvalidArgumentError,
  RangeNotSatisfiableError,
  StreamNotFoundError,
  type AppendRecord,
  type Stream,
} from '../../src/index.js';
import { contextOf } from '../../src/log/log-context.js';
import { collect, rejectionOf } from '../support/assertions.js';
import { uniqueName, useEventLog } from '../support/event-log.js';

const fixture = useEventLog();

function freshStream(): Stream {
  return fixture.log.stream(uniqueName('read'));
}

/** A stream holding records `r0`…`r{count-1}`. */
async function streamOf(count: number): Promise<Stream> {
  const stream = freshStream();
  await stream.append(Array.from({ length: count }, (_, i) => ({ body: `r${i}` })));
  return stream;
}

/** A stream whose records have the given client timestamps (bodies `t<timestamp>`). */
async function streamWithTimestamps(timestamps: number[]): Promise<Stream> {
  const stream = freshStream();
  await stream.append(timestamps.map((timestamp) => ({ body: `t${timestamp}`, timestamp })));
  return stream;
}

/** An empty stream, created explicitly. */
async function emptyStream(): Promise<Stream> {
  const name = uniqueName('empty');
  await fixture.log.basin('default-basin').streams.create({ stream: name });
  return fixture.log.stream(name);
}

/** `count` records of exactly `size` metered bytes each (no headers: 8 + body). */
function sized(count: number, size: number): AppendRecord[] {
  return Array.from({ length: count }, (_, i) => ({ body: String(i % 10).repeat(size - 8) }));
}

/** Appends `records` to `stream` after `ms`, while the test is waiting in a read. */
function appendLater(stream: Stream, ms: number, records: AppendRecord[]): Promise<unknown> {
  return new Promise((resolve) => setTimeout(resolve, ms)).then(() => stream.append(records));
}

describe('start', () => {
  it('from seqNum returns records from that seqNum on', async () => {
    const stream = await streamOf(6);
    const { records, tail } = await stream.read({ seqNum: 3 });
    expect(records.map((r) => [r.seqNum, r.body])).toEqual([
      [3, 'r3'],
      [4, 'r4'],
      [5, 'r5'],
    ]);
    expect(tail?.seqNum).toBe(6);
  });

  it('from timestamp starts at the first record whose timestamp is at least it', async () => {
    const stream = await streamWithTimestamps([1_000, 2_000, 2_000, 3_000, 4_000]);
    const seqNums = async (timestamp: number) =>
      (await stream.read({ timestamp })).records.map((r) => r.seqNum);
    expect(await seqNums(0)).toEqual([0, 1, 2, 3, 4]);
    expect(await seqNums(1_000)).toEqual([0, 1, 2, 3, 4]);
    expect(await seqNums(1_001)).toEqual([1, 2, 3, 4]);
    expect(await seqNums(2_000)).toEqual([1, 2, 3, 4]);
    expect(await seqNums(2_500)).toEqual([3, 4]);
    expect(await seqNums(4_000)).toEqual([4]);
  });

  it('from a timestamp after the last record is at the tail', async () => {
    const stream = await streamWithTimestamps([1_000, 2_000]);
    const error = await rejectionOf(stream.read({ timestamp: 2_001 }));
    expect(error).toBeInstanceOf(RangeNotSatisfiableError);
    expect((error as RangeNotSatisfiableError).tail).toEqual({ seqNum: 2, timestamp: 2_000 });
  });

  it('from tailOffset returns the last records', async () => {
    const stream = await streamOf(6);
    const { records } = await stream.read({ tailOffset: 2 });
    expect(records.map((r) => r.seqNum)).toEqual([4, 5]);
  });

  it('from a tailOffset larger than the stream starts at its first record', async () => {
    const stream = await streamOf(3);
    const { records } = await stream.read({ tailOffset: 50 });
    expect(records.map((r) => r.seqNum)).toEqual([0, 1, 2]);
  });

  it('from tailOffset 0 is at the tail', async () => {
    const stream = await streamOf(3);
    await expect(stream.read({ tailOffset: 0 })).rejects.toBeInstanceOf(RangeNotSatisfiableError);
  });

  it.each([
    [{ seqNum: 0, timestamp: 0 }, /seqNum and timestamp/],
    [{ seqNum: 0, tailOffset: 1 }, /seqNum and tailOffset/],
    [{ timestamp: 0, tailOffset: 1 }, /timestamp and tailOffset/],
    [{ seqNum: 0, timestamp: 0, tailOffset: 1 }, /seqNum and timestamp and tailOffset/],
  ])('with more than one start (%o) is rejected with InvalidArgumentError', async (start, message) => {
    const stream = await streamOf(3);
    const error = await rejectionOf(stream.read(start));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(message);
  });

  it.each([
    ['seqNum', { seqNum: -1 }],
    ['seqNum', { seqNum: 0.5 }],
    ['timestamp', { timestamp: -5 }],
    ['tailOffset', { tailOffset: NaN }],
  ])('with an invalid %s is rejected with InvalidArgumentError naming it', async (name, start) => {
    const stream = await streamOf(1);
    const error = await rejectionOf(stream.read(start));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain(name);
  });

  it('defaults to the tail: a read without a start and without wait is a 416', async () => {
    const stream = await streamOf(4);
    const error = await rejectionOf(stream.read());
    expect(error).toBeInstanceOf(RangeNotSatisfiableError);
    expect((error as RangeNotSatisfiableError).tail.seqNum).toBe(4);
  });

  it('defaults to the tail: a read without a start returns the records appended while it waits', async () => {
    const stream = await streamOf(4);
    const appended = appendLater(stream, 200, [{ body: 'new' }]);
    const { records } = await stream.read({ wait: 3 });
    await appended;
    expect(records.map((r) => [r.seqNum, r.body])).toEqual([[4, 'new']]);
  });

  it('from tailOffset 0 with wait returns the records appended while it waits', async () => {
    const stream = await streamOf(4);
    const appended = appendLater(stream, 200, [{ body: 'new' }]);
    const { records } = await stream.read({ tailOffset: 0, wait: 3 });
    await appended;
    expect(records.map((r) => [r.seqNum, r.body])).toEqual([[4, 'new']]);
  });
});

describe('bounds', () => {
  it('caps count at 1000 and bytes at 1 MiB, as S2 caps unary reads', async () => {
    const stream = await streamOf(1000);
    await stream.append([{ body: 'one more' }]);
    const { records } = await stream.read({ seqNum: 0, count: 5000, bytes: 10 * 1024 * 1024 });
    expect(records).toHaveLength(1000);
  });

  it('count limits the number of records', async () => {
    const stream = await streamOf(10);
    const { records } = await stream.read({ seqNum: 2, count: 3 });
    expect(records.map((r) => r.seqNum)).toEqual([2, 3, 4]);
  });

  it('count of 1 returns one record', async () => {
    const stream = await streamOf(10);
    const { records } = await stream.read({ seqNum: 0, count: 1 });
    expect(records.map((r) => r.seqNum)).toEqual([0]);
  });

  it.each([0, -1, 1.5])('count %s is rejected with InvalidArgumentError', async (count) => {
    const stream = await streamOf(2);
    await expect(stream.read({ seqNum: 0, count })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('bytes limits the metered size of the records returned, inclusively', async () => {
    const stream = freshStream();
    await stream.append(sized(5, 100));
    const seqNums = async (bytes: number) =>
      (await stream.read({ seqNum: 0, bytes })).records.map((r) => r.seqNum);
    expect(await seqNums(199)).toEqual([0]);
    expect(await seqNums(200)).toEqual([0, 1]);
    expect(await seqNums(299)).toEqual([0, 1]);
    expect(await seqNums(300)).toEqual([0, 1, 2]);
  });

  it('bytes counts headers as metered: 8 + 2 per header + header bytes + body bytes', async () => {
    const stream = freshStream();
    // Each record: 8 + 2·2 + (1+1) + (2+2) + 10 = 28 metered bytes.
    const record = {
      headers: [
        ['a', 'b'],
        ['cd', 'ef'],
      ] as [string, string][],
      body: '0123456789',
    };
    await stream.append([record, record, record]);
    expect((await stream.read({ seqNum: 0, bytes: 56 })).records).toHaveLength(2);
    expect((await stream.read({ seqNum: 0, bytes: 55 })).records).toHaveLength(1);
  });

  it('bytes always lets at least one record through, however large', async () => {
    const stream = freshStream();
    await stream.append(sized(3, 1_000));
    const { records } = await stream.read({ seqNum: 1, bytes: 1 });
    expect(records.map((r) => r.seqNum)).toEqual([1]);
  });

  it('until returns only records with a timestamp below it (exclusive)', async () => {
    const stream = await streamWithTimestamps([1_000, 2_000, 3_000, 4_000]);
    const { records } = await stream.read({ seqNum: 0, until: 3_000 });
    expect(records.map((r) => r.timestamp)).toEqual([1_000, 2_000]);
  });

  it('until at or below the start’s timestamp gives an empty batch, not an error', async () => {
    const stream = await streamWithTimestamps([1_000, 2_000]);
    const batch = await stream.read({ seqNum: 0, until: 1_000 });
    expect(batch.records).toEqual([]);
    expect(batch.tail).toEqual({ seqNum: 2, timestamp: 2_000 });
  });

  it('count, bytes and until together stop at whichever comes first', async () => {
    const stream = freshStream();
    await stream.append(sized(10, 100).map((r, i) => ({ ...r, timestamp: (i + 1) * 1_000 })));
    expect((await stream.read({ seqNum: 0, count: 3, bytes: 1_000, until: 9_000 })).records).toHaveLength(3);
    expect((await stream.read({ seqNum: 0, count: 8, bytes: 400, until: 9_000 })).records).toHaveLength(4);
    expect((await stream.read({ seqNum: 0, count: 8, bytes: 1_000, until: 3_000 })).records).toHaveLength(2);
  });

  it('a unary read returns at most 1000 records', async () => {
    const stream = freshStream();
    await stream.append(sized(1_000, 10));
    await stream.append(sized(500, 10));
    const { records, tail } = await stream.read({ seqNum: 0 });
    expect(records).toHaveLength(1_000);
    expect(records.at(-1)!.seqNum).toBe(999);
    expect(tail?.seqNum).toBe(1_500);
  });

  it('a unary read returns at most 1 MiB metered', async () => {
    const stream = freshStream();
    const size = 400 * 1024;
    for (let i = 0; i < 3; i++) await stream.append(sized(1, size));
    const { records } = await stream.read({ seqNum: 0 });
    expect(records.map((r) => r.seqNum)).toEqual([0, 1]);
  });
});

describe('order', () => {
  it('returns records in seqNum order, consecutively, after concurrent appends', async () => {
    const stream = await streamOf(1);
    await Promise.all(
      Array.from({ length: 30 }, (_, i) => stream.append([{ body: `c${i}` }, { body: `d${i}` }])),
    );
    const { records } = await stream.read({ seqNum: 0 });
    expect(records.map((r) => r.seqNum)).toEqual(Array.from({ length: 61 }, (_, i) => i));
    // Each batch stayed contiguous.
    for (let i = 1; i < records.length; i += 2) {
      expect(records[i + 1]!.body).toBe(records[i]!.body.replace('c', 'd'));
    }
  });
});

describe('range not satisfiable (416)', () => {
  it('a start beyond the tail fails with the tail and code range_not_satisfiable', async () => {
    const stream = await streamWithTimestamps([1_000, 2_000, 3_000]);
    const error = await rejectionOf(stream.read({ seqNum: 4 }));
    expect(error).toBeInstanceOf(RangeNotSatisfiableError);
    expect(error).toMatchObject({
      code: 'range_not_satisfiable',
      indefinite: false,
      tail: { seqNum: 3, timestamp: 3_000 },
    });
  });

  it('a start beyond the tail fails at once even when the read may wait', async () => {
    const stream = await streamOf(3);
    const started = Date.now();
    await expect(stream.read({ seqNum: 10, wait: 5 })).rejects.toBeInstanceOf(RangeNotSatisfiableError);
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('a start exactly at the tail fails when wait is absent', async () => {
    const stream = await streamOf(3);
    const error = await rejectionOf(stream.read({ seqNum: 3 }));
    expect(error).toBeInstanceOf(RangeNotSatisfiableError);
    expect((error as RangeNotSatisfiableError).tail.seqNum).toBe(3);
  });

  it('a start exactly at the tail fails when wait is 0', async () => {
    const stream = await streamOf(3);
    await expect(stream.read({ seqNum: 3, wait: 0 })).rejects.toBeInstanceOf(RangeNotSatisfiableError);
  });

  it('reading an empty stream fails with the tail { seqNum: 0, timestamp: 0 }', async () => {
    const stream = await emptyStream();
    const error = await rejectionOf(stream.read({ seqNum: 0 }));
    expect(error).toBeInstanceOf(RangeNotSatisfiableError);
    expect((error as RangeNotSatisfiableError).tail).toEqual({ seqNum: 0, timestamp: 0 });
  });

  it('reading a stream never appended to (the default basin creates on append only) is StreamNotFoundError', async () => {
    const stream = freshStream();
    const error = await rejectionOf(stream.read({ seqNum: 0 }));
    expect(error).toBeInstanceOf(StreamNotFoundError);
    expect(error).toMatchObject({ code: 'stream_not_found', stream: stream.name });
  });
});

describe('clamp', () => {
  it('does not change a start within the stream', async () => {
    const stream = await streamOf(5);
    const { records } = await stream.read({ seqNum: 2, clamp: true });
    expect(records.map((r) => r.seqNum)).toEqual([2, 3, 4]);
  });

  it('moves a start beyond the tail to the tail, which without wait is a 416 with the tail', async () => {
    const stream = await streamOf(5);
    const error = await rejectionOf(stream.read({ seqNum: 50, clamp: true }));
    expect(error).toBeInstanceOf(RangeNotSatisfiableError);
    expect((error as RangeNotSatisfiableError).tail.seqNum).toBe(5);
  });

  it('moves a start beyond the tail to the tail, so a waiting read returns records appended at the tail', async () => {
    const stream = await streamOf(5);
    const appended = appendLater(stream, 200, [{ body: 'at-tail' }]);
    const { records } = await stream.read({ seqNum: 50, clamp: true, wait: 2 });
    await appended;
    expect(records.map((r) => [r.seqNum, r.body])).toEqual([[5, 'at-tail']]);
  });
});

describe('wait', () => {
  it('marks the stream watched (so appends notify) only when it has to wait', async () => {
    const stream = await streamOf(2);
    const watched = async () =>
      (
        await fixture.log.pool.query<{ w: boolean }>(
          `select watched_until is not null as w from fencepost.streams where name = $1`,
          [stream.name],
        )
      ).rows[0]!.w;
    expect((await stream.read({ seqNum: 0, wait: 5 })).records).toHaveLength(2);
    expect(await watched()).toBe(false);
    expect((await stream.read({ seqNum: 2, wait: 0.05 })).records).toEqual([]);
    expect(await watched()).toBe(true);
  });

  it('returns the records appended during the wait', async () => {
    const stream = await streamOf(2);
    const appended = appendLater(stream, 200, [{ body: 'late-1' }, { body: 'late-2' }]);
    const started = Date.now();
    const { records, tail } = await stream.read({ seqNum: 2, wait: 10 });
    await appended;
    expect(records.map((r) => [r.seqNum, r.body])).toEqual([
      [2, 'late-1'],
      [3, 'late-2'],
    ]);
    expect(tail?.seqNum).toBe(4);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('returns the first record appended to an empty stream during the wait', async () => {
    const stream = await emptyStream();
    const appended = appendLater(stream, 200, [{ body: 'first' }]);
    const { records } = await stream.read({ seqNum: 0, wait: 10 });
    await appended;
    expect(records.map((r) => [r.seqNum, r.body])).toEqual([[0, 'first']]);
  });

  it('returns records appended through another EventLog during the wait', async () => {
    const stream = await streamOf(1);
    const other = await fixture.connect();
    const appended = appendLater(other.stream(stream.name), 200, [{ body: 'elsewhere' }]);
    const { records } = await stream.read({ seqNum: 1, wait: 10 });
    await appended;
    expect(records.map((r) => r.body)).toEqual(['elsewhere']);
  });

  it('returns an empty batch with the tail once the wait expires', async () => {
    const stream = await streamWithTimestamps([1_000, 2_000]);
    const started = Date.now();
    const batch = await stream.read({ seqNum: 2, wait: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(batch).toEqual({ records: [], tail: { seqNum: 2, timestamp: 2_000 } });
  });

  it('does not wait when records are already there', async () => {
    const stream = await streamOf(3);
    const started = Date.now();
    const { records } = await stream.read({ seqNum: 1, wait: 30 });
    expect(records.map((r) => r.seqNum)).toEqual([1, 2]);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it.each([-1, 61, NaN])('wait %s is rejected with InvalidArgumentError', async (wait) => {
    const stream = await streamOf(1);
    await expect(stream.read({ seqNum: 1, wait })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe('checkTail', () => {
  it('is { seqNum: 0, timestamp: 0 } on an empty stream', async () => {
    const stream = await emptyStream();
    expect(await stream.checkTail()).toEqual({ seqNum: 0, timestamp: 0 });
  });

  it('returns the next seqNum and the last record’s timestamp', async () => {
    const stream = await streamWithTimestamps([1_000, 2_000, 3_000]);
    expect(await stream.checkTail()).toEqual({ seqNum: 3, timestamp: 3_000 });
  });

  it('reflects every acknowledged append at once', async () => {
    const stream = freshStream();
    for (let i = 1; i <= 5; i++) {
      const ack = await stream.append([{ body: String(i), timestamp: i * 10 }]);
      expect(await stream.checkTail()).toEqual(ack.tail);
      expect(ack.tail).toEqual({ seqNum: i, timestamp: i * 10 });
    }
  });

  it('fails with StreamNotFoundError for a stream that does not exist', async () => {
    await expect(freshStream().checkTail()).rejects.toBeInstanceOf(StreamNotFoundError);
  });
});

describe('readSession', () => {
  it('fails with a 416 when it starts beyond the tail, and starts at the tail with clamp', async () => {
    const stream = await streamOf(3);
    const error = await rejectionOf(collect(stream.readSession({ seqNum: 10 })));
    expect(error).toBeInstanceOf(RangeNotSatisfiableError);
    expect((error as RangeNotSatisfiableError).tail.seqNum).toBe(3);
    expect(await collect(stream.readSession({ seqNum: 10, clamp: true }))).toEqual([]);
  });

  it('returns the first record even when it alone exceeds bytes', async () => {
    const stream = freshStream();
    await stream.append(sized(3, 100));
    const records = await collect(stream.readSession({ seqNum: 0, bytes: 50 }));
    expect(records.map((r) => r.seqNum)).toEqual([0]);
  });

  it('reads from the start to the tail, then ends', async () => {
    const stream = await streamOf(5);
    const records = await collect(stream.readSession({ seqNum: 1 }));
    expect(records.map((r) => [r.seqNum, r.body])).toEqual([
      [1, 'r1'],
      [2, 'r2'],
      [3, 'r3'],
      [4, 'r4'],
    ]);
  });

  it('does not return records appended after it ended', async () => {
    const stream = await streamOf(2);
    const session = stream.readSession({ seqNum: 0 });
    const first = await collect(session);
    await stream.append([{ body: 'later' }]);
    expect(first.map((r) => r.seqNum)).toEqual([0, 1]);
  });

  it('ends at the tail its last page saw, without reading again: one read per page', async () => {
    // A pool of the test's own, to count the reads: each page checks out a connection once.
    const pool = new pg.Pool({ connectionString: fixture.connectionString, max: 2 });
    const log = await EventLog.connect({ pool, migrate: false, sweepIntervalMs: 0 });
    try {
      const small = log.stream(uniqueName('read'));
      await small.append(Array.from({ length: 5 }, (_, i) => ({ body: `r${i}` })));
      const large = log.stream(uniqueName('read'));
      for (let batch = 0; batch < 5; batch++) await large.append(sized(1_000, 10));
      // The appends' own background work (a basin's first appends notify, and look up its watch mark) uses the
      // pool too: done before counting.
      await contextOf(log).notifier.flush();
      let reads = 0;
      pool.on('acquire', () => reads++);
      expect(await collect(small.readSession({ seqNum: 0 }))).toHaveLength(5);
      expect(reads).toBe(1);
      reads = 0;
      expect(await collect(large.readSession({ seqNum: 0 }))).toHaveLength(5_000); // pages of 2000
      expect(reads).toBe(3);
    } finally {
      await log.close();
      await pool.end();
    }
  });

  it('starting at the tail ends without records', async () => {
    const stream = await streamOf(3);
    expect(await collect(stream.readSession())).toEqual([]);
    expect(await collect(stream.readSession({ seqNum: 3 }))).toEqual([]);
  });

  it('reads more than a page (2000 records): 5000 records in order', async () => {
    const stream = freshStream();
    for (let batch = 0; batch < 5; batch++) {
      await stream.append(Array.from({ length: 1_000 }, (_, i) => ({ body: String(batch * 1_000 + i) })));
    }
    const records = await collect(stream.readSession({ seqNum: 0 }));
    expect(records).toHaveLength(5_000);
    expect(records.every((r, i) => r.seqNum === i && r.body === String(i))).toBe(true);
  });

  it('honours count across pages', async () => {
    const stream = freshStream();
    for (let batch = 0; batch < 3; batch++) await stream.append(sized(1_000, 10));
    const records = await collect(stream.readSession({ seqNum: 100, count: 2_500 }));
    expect(records).toHaveLength(2_500);
    expect(records[0]!.seqNum).toBe(100);
    expect(records.at(-1)!.seqNum).toBe(2_599);
  });

  it('honours bytes (metered), inclusively', async () => {
    const stream = freshStream();
    await stream.append(sized(5, 100));
    expect(await collect(stream.readSession({ seqNum: 0, bytes: 250 }))).toHaveLength(2);
    expect(await collect(stream.readSession({ seqNum: 0, bytes: 300 }))).toHaveLength(3);
  });

  it('honours until (exclusive)', async () => {
    const stream = await streamWithTimestamps([1_000, 2_000, 3_000, 4_000]);
    const records = await collect(stream.readSession({ seqNum: 0, until: 3_000 }));
    expect(records.map((r) => r.timestamp)).toEqual([1_000, 2_000]);
  });

  it('starts from a timestamp or a tail offset', async () => {
    const stream = await streamWithTimestamps([1_000, 2_000, 3_000, 4_000]);
    expect((await collect(stream.readSession({ timestamp: 2_500 }))).map((r) => r.seqNum)).toEqual([2, 3]);
    expect((await collect(stream.readSession({ tailOffset: 1 }))).map((r) => r.seqNum)).toEqual([3]);
  });

  it('returns bodies as bytes when asked', async () => {
    const stream = freshStream();
    await stream.append([{ body: new Uint8Array([0xff, 0x00]) }]);
    const [record] = await collect(stream.readSession({ seqNum: 0, as: 'bytes' }));
    expect(record!.body).toBeInstanceOf(Uint8Array);
    expect([...record!.body]).toEqual([0xff, 0x00]);
  });

  it('answers next() calls made at once in order, across pages, then says done', async () => {
    const stream = freshStream();
    for (let batch = 0; batch < 3; batch++) await stream.append(sized(1_000, 10));
    const session = stream.readSession({ seqNum: 500 })[Symbol.asyncIterator]();
    const steps = await Promise.all(Array.from({ length: 2_502 }, () => session.next()));
    expect(steps.slice(0, 2_500).every((step, i) => !step.done && step.value.seqNum === 500 + i)).toBe(true);
    expect(steps.slice(2_500).map((step) => step.done)).toEqual([true, true]);
  });

  it('ends before the next record once its signal aborts, also within a page', async () => {
    const stream = await streamOf(10);
    const controller = new AbortController();
    const session = stream.readSession({ seqNum: 0, signal: controller.signal })[Symbol.asyncIterator]();
    expect((await session.next()).value?.body).toBe('r0');
    expect((await session.next()).value?.body).toBe('r1');
    controller.abort();
    expect(await session.next()).toEqual({ value: undefined, done: true });
    expect(await session.next()).toEqual({ value: undefined, done: true });
  });

  it('gives each record its own headers, which its reader may change', async () => {
    const stream = freshStream();
    await stream.append(
      Array.from({ length: 3 }, () => ({ body: 'x', headers: [['type', 'T']] as [string, string][] })),
    );
    const records = await collect(stream.readSession({ seqNum: 0 }));
    records[0]!.headers[0]![1] = 'changed';
    records[1]!.headers.push(['extra', 'y']);
    expect(records.map((r) => r.headers)).toEqual([
      [['type', 'changed']],
      [
        ['type', 'T'],
        ['extra', 'y'],
      ],
      [['type', 'T']],
    ]);
  });

  it('rejects more than one start with InvalidArgumentError', async () => {
    const stream = await streamOf(2);
    await expect(collect(stream.readSession({ seqNum: 0, tailOffset: 1 }))).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });

  it('fails with StreamNotFoundError for a stream that does not exist', async () => {
    await expect(collect(freshStream().readSession({ seqNum: 0 }))).rejects.toBeInstanceOf(
      StreamNotFoundError,
    );
  });
});
