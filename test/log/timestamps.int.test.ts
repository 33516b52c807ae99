/**
 * Record timestamps: milliseconds, monotonic per stream, future client timestamps capped to now (unless the
 * stream is `uncapped`), and the three timestamping modes: `client-prefer` (the default), `client-require`,
 * `arrival`.
 *
 * The database and this process share the machine's clock, so "now" is bracketed by `Date.now()` before and
 * after an append, with a small allowance for rounding.
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, type Stream, type TimestampingMode } from '../../src/index.js';
import { uniqueName, useEventLog } from '../support/event-log.js';

const fixture = useEventLog();

/** Allowance for the database rounding its clock to milliseconds differently from `Date.now()`. */
const CLOCK_SLACK_MS = 5;
const HOUR_MS = 3_600_000;

function defaultBasin() {
  return fixture.log.basin('default-basin');
}

/** A stream of the default basin, created on first append (so with the default config). */
function freshStream(): Stream {
  return fixture.log.stream(uniqueName('ts'));
}

/** A stream created explicitly with the given timestamping config. */
async function streamWith(mode: TimestampingMode | undefined, uncapped?: boolean): Promise<Stream> {
  const name = uniqueName(`ts-${mode ?? 'default'}`);
  await defaultBasin().streams.create({ stream: name, config: { timestamping: { mode, uncapped } } });
  return fixture.log.stream(name);
}

async function timestamps(stream: Stream): Promise<number[]> {
  const { records } = await stream.read({ seqNum: 0 });
  return records.map((r) => r.timestamp);
}

/** Runs `append` and returns the `Date.now()` window around it. */
async function during(append: () => Promise<unknown>): Promise<{ before: number; after: number }> {
  const before = Date.now();
  await append();
  return { before: before - CLOCK_SLACK_MS, after: Date.now() + CLOCK_SLACK_MS };
}

describe('client-prefer (the default mode)', () => {
  it('gives a record the client timestamp', async () => {
    const stream = freshStream();
    const ack = await stream.append([
      { body: 'a', timestamp: 1_000 },
      { body: 'b', timestamp: 2_000 },
    ]);
    expect(await timestamps(stream)).toEqual([1_000, 2_000]);
    expect(ack.start.timestamp).toBe(1_000);
    expect(ack.end.timestamp).toBe(2_000);
    expect(ack.tail).toEqual({ seqNum: 2, timestamp: 2_000 });
  });

  it('is the mode of a stream created without a timestamping config', async () => {
    const stream = await streamWith(undefined);
    await stream.append([{ body: 'a', timestamp: 1_234 }]);
    expect(await timestamps(stream)).toEqual([1_234]);
  });

  it('gives a record without a timestamp the arrival time', async () => {
    const stream = freshStream();
    const { before, after } = await during(() => stream.append([{ body: 'a' }]));
    const [timestamp] = await timestamps(stream);
    expect(timestamp).toBeGreaterThanOrEqual(before);
    expect(timestamp).toBeLessThanOrEqual(after);
  });
});

describe('monotonic timestamps', () => {
  it('raises a client timestamp lower than the stream’s last one to it, across batches', async () => {
    const stream = freshStream();
    await stream.append([{ body: 'a', timestamp: 5_000 }]);
    const ack = await stream.append([{ body: 'b', timestamp: 3_000 }]);
    expect(await timestamps(stream)).toEqual([5_000, 5_000]);
    expect(ack.start.timestamp).toBe(5_000);
  });

  it('raises a client timestamp lower than an earlier one in the same batch', async () => {
    const stream = freshStream();
    await stream.append([
      { body: 'a', timestamp: 5_000 },
      { body: 'b', timestamp: 3_000 },
      { body: 'c', timestamp: 6_000 },
      { body: 'd', timestamp: 1 },
    ]);
    expect(await timestamps(stream)).toEqual([5_000, 5_000, 6_000, 6_000]);
  });

  it('raises a client timestamp below an arrival-time record appended before it', async () => {
    const stream = freshStream();
    await stream.append([{ body: 'now' }]);
    await stream.append([{ body: 'old', timestamp: 1_000 }]);
    const [first, second] = await timestamps(stream);
    expect(second).toBe(first);
  });

  it('never decreases over a mix of client, missing and stale timestamps', async () => {
    const stream = freshStream();
    const now = Date.now();
    for (let i = 0; i < 10; i++) {
      await stream.append([
        { body: `${i}-old`, timestamp: now - 60_000 * (10 - i) },
        { body: `${i}-none` },
        { body: `${i}-zero`, timestamp: 0 },
      ]);
    }
    const seen = await timestamps(stream);
    expect(seen).toHaveLength(30);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  });

  it('reports the largest timestamp so far as the tail timestamp', async () => {
    const stream = freshStream();
    await stream.append([{ body: 'a', timestamp: 9_000 }]);
    await stream.append([{ body: 'b', timestamp: 4_000 }]);
    expect(await stream.checkTail()).toEqual({ seqNum: 2, timestamp: 9_000 });
  });
});

describe('client timestamp values', () => {
  it.each([
    ['negative', -1],
    ['non-integer', 1.5],
    ['NaN', NaN],
    ['beyond 2^53', 2 ** 53],
  ])(
    'a %s timestamp is rejected with InvalidArgumentError naming it, and nothing is written',
    async (_, timestamp) => {
      const stream = freshStream();
      await stream.append([{ body: 'seed', timestamp: 1_000 }]);
      const append = stream.append([
        { body: 'ok', timestamp: 2_000 },
        { body: 'bad', timestamp },
      ]);
      await expect(append).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(append).rejects.toThrow(
        `record 1 timestamp must be a non-negative integer (ms); got ${timestamp}`,
      );
      expect(await stream.checkTail()).toEqual({ seqNum: 1, timestamp: 1_000 });
    },
  );

  it('0 is a valid client timestamp', async () => {
    const stream = freshStream();
    await stream.append([{ body: 'epoch', timestamp: 0 }]);
    expect(await timestamps(stream)).toEqual([0]);
  });
});

describe('future timestamps', () => {
  it('caps a client timestamp in the future to now', async () => {
    const stream = freshStream();
    const { before, after } = await during(() =>
      stream.append([{ body: 'future', timestamp: Date.now() + HOUR_MS }]),
    );
    const [timestamp] = await timestamps(stream);
    expect(timestamp).toBeGreaterThanOrEqual(before);
    expect(timestamp).toBeLessThanOrEqual(after);
  });

  it('keeps a future client timestamp when the stream is uncapped', async () => {
    const stream = await streamWith('client-prefer', true);
    const future = Date.now() + HOUR_MS;
    const ack = await stream.append([{ body: 'future', timestamp: future }]);
    expect(ack.end.timestamp).toBe(future);
    expect(await timestamps(stream)).toEqual([future]);
  });

  it('raises later records of an uncapped stream to its future timestamp', async () => {
    const stream = await streamWith('client-prefer', true);
    const future = Date.now() + HOUR_MS;
    await stream.append([{ body: 'future', timestamp: future }]);
    await stream.append([{ body: 'arrival' }, { body: 'past', timestamp: 1_000 }]);
    expect(await timestamps(stream)).toEqual([future, future, future]);
  });
});

describe('client-require', () => {
  it('appends records that all carry a timestamp', async () => {
    const stream = await streamWith('client-require');
    await stream.append([{ body: 'a', timestamp: 1_000 }]);
    expect(await timestamps(stream)).toEqual([1_000]);
  });

  it('rejects a record without a timestamp and writes nothing', async () => {
    const stream = await streamWith('client-require');
    await stream.append([{ body: 'a', timestamp: 1_000 }]);
    const tail = await stream.checkTail();
    const append = stream.append([{ body: 'b', timestamp: 2_000 }, { body: 'c' }]);
    await expect(append).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(append).rejects.toThrow(/client-require.*record 1 has no timestamp/);
    expect(await stream.checkTail()).toEqual(tail);
    expect(await timestamps(stream)).toEqual([1_000]);
  });

  it('rejects a record without a timestamp on an empty stream', async () => {
    const stream = await streamWith('client-require');
    await expect(stream.append([{ body: 'a' }])).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(await stream.checkTail()).toEqual({ seqNum: 0, timestamp: 0 });
  });

  it('still caps a future client timestamp to now', async () => {
    const stream = await streamWith('client-require');
    const { before, after } = await during(() =>
      stream.append([{ body: 'future', timestamp: Date.now() + HOUR_MS }]),
    );
    const [timestamp] = await timestamps(stream);
    expect(timestamp).toBeGreaterThanOrEqual(before);
    expect(timestamp).toBeLessThanOrEqual(after);
  });

  it('applies to streams a basin creates on append when its default stream config says so', async () => {
    const basin = uniqueName('tsbasin');
    await fixture.log.basins.create({
      basin,
      config: {
        createStreamOnAppend: true,
        defaultStreamConfig: { timestamping: { mode: 'client-require' } },
      },
    });
    const stream = fixture.log.basin(basin).stream('s');
    await expect(stream.append([{ body: 'a' }])).rejects.toBeInstanceOf(InvalidArgumentError);
    expect((await fixture.log.basin(basin).streams.list()).streams).toEqual([]);
    await stream.append([{ body: 'a', timestamp: 7 }]);
    expect(await timestamps(stream)).toEqual([7]);
  });
});

describe('arrival', () => {
  it('ignores a client timestamp in the past', async () => {
    const stream = await streamWith('arrival');
    const { before, after } = await during(() => stream.append([{ body: 'a', timestamp: 1_000 }]));
    const [timestamp] = await timestamps(stream);
    expect(timestamp).toBeGreaterThanOrEqual(before);
    expect(timestamp).toBeLessThanOrEqual(after);
  });

  it('ignores a client timestamp in the future, even when uncapped', async () => {
    const stream = await streamWith('arrival', true);
    const { before, after } = await during(() =>
      stream.append([{ body: 'a', timestamp: Date.now() + HOUR_MS }]),
    );
    const [timestamp] = await timestamps(stream);
    expect(timestamp).toBeGreaterThanOrEqual(before);
    expect(timestamp).toBeLessThanOrEqual(after);
  });

  it('accepts records without a timestamp', async () => {
    const stream = await streamWith('arrival');
    const ack = await stream.append([{ body: 'a' }]);
    expect(ack.end.seqNum).toBe(1);
  });
});

describe('reconfiguring the mode', () => {
  it('from client-prefer to arrival makes later appends ignore client timestamps', async () => {
    const stream = await streamWith('client-prefer');
    await stream.append([{ body: 'a', timestamp: 1_000 }]);
    await defaultBasin().streams.reconfigure({ stream: stream.name, timestamping: { mode: 'arrival' } });
    const { before, after } = await during(() => stream.append([{ body: 'b', timestamp: 2_000 }]));
    const [first, second] = await timestamps(stream);
    expect(first).toBe(1_000);
    expect(second).toBeGreaterThanOrEqual(before);
    expect(second).toBeLessThanOrEqual(after);
  });

  it('from arrival to client-prefer makes later appends use client timestamps', async () => {
    const stream = await streamWith('arrival');
    await defaultBasin().streams.reconfigure({
      stream: stream.name,
      timestamping: { mode: 'client-prefer' },
    });
    await stream.append([{ body: 'a', timestamp: 1_000 }]);
    expect(await timestamps(stream)).toEqual([1_000]);
  });

  it('to client-require makes later appends without a timestamp fail', async () => {
    const stream = freshStream();
    await stream.append([{ body: 'a' }]);
    await defaultBasin().streams.reconfigure({
      stream: stream.name,
      timestamping: { mode: 'client-require' },
    });
    const tail = await stream.checkTail();
    await expect(stream.append([{ body: 'b' }])).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(await stream.checkTail()).toEqual(tail);
    expect(await defaultBasin().streams.getConfig({ stream: stream.name })).toMatchObject({
      timestamping: { mode: 'client-require' },
    });
  });

  it('to uncapped keeps later future timestamps, and changing only the mode keeps uncapped', async () => {
    const stream = await streamWith('client-prefer');
    await defaultBasin().streams.reconfigure({ stream: stream.name, timestamping: { uncapped: true } });
    const future = Date.now() + HOUR_MS;
    await stream.append([{ body: 'a', timestamp: future }]);
    const config = await defaultBasin().streams.reconfigure({
      stream: stream.name,
      timestamping: { mode: 'client-require' },
    });
    expect(config.timestamping).toEqual({ mode: 'client-require', uncapped: true });
    await stream.append([{ body: 'b', timestamp: future + 1 }]);
    expect(await timestamps(stream)).toEqual([future, future + 1]);
  });
});
