import { describe, expect, it } from 'vitest';
import type { ConsumerBatch, RunOptions } from '../../src/index.js';
import { eventually } from '../support/assertions.js';
import { uniqueName, useEventLog } from '../support/event-log.js';

const fixture = useEventLog();

/** Runs a consumer of streams starting with `prefix` in the background; `stop` aborts it and waits. */
function consume(prefix: string, handler: (batch: ConsumerBatch) => Promise<void>, options: RunOptions = {}) {
  const name = uniqueName('c');
  const controller = new AbortController();
  const running = fixture.log
    .consumer(name, { filter: { streamPrefix: prefix } })
    .run(handler, { ...options, signal: controller.signal });
  return {
    name,
    stop: async () => {
      controller.abort();
      await running;
    },
  };
}

async function recreate(stream: string): Promise<void> {
  await fixture.log.basin('default-basin').streams.delete({ stream });
}

describe('a record of a stream deleted and created again', () => {
  it('has an idempotency key of its own, with the stream id in it', async () => {
    const prefix = uniqueName('idem');
    const stream = `${prefix}-a`;
    await fixture.log.stream(stream).append([{ body: 'first incarnation' }]);
    const seen: { key: string; body: string }[] = [];
    const run = consume(prefix, async (batch) => {
      for (const r of batch.records) seen.push({ key: r.idempotencyKey, body: r.body });
    });
    try {
      await eventually(() => seen.length === 1, 'the first record');
      await recreate(stream);
      await fixture.log.stream(stream).append([{ body: 'second incarnation' }]);
      await eventually(() => seen.length === 2, 'the second record');
    } finally {
      await run.stop();
    }
    expect(seen.map((s) => s.body)).toEqual(['first incarnation', 'second incarnation']);
    const [first, second] = seen.map((s) => /^default-basin\/(\d+)\/0\/(.*)$/.exec(s.key));
    expect(first?.[2]).toBe(stream);
    expect(second?.[2]).toBe(stream);
    expect(Number(second![1])).toBeGreaterThan(Number(first![1]));
  });

  it('is parked next to the record of the same seqNum parked before the stream was deleted', async () => {
    const prefix = uniqueName('park-idem');
    const stream = `${prefix}-a`;
    await fixture.log.stream(stream).append([{ body: 'poison 1' }]);
    let handled = 0;
    const run = consume(
      prefix,
      async (batch) => {
        for (const r of batch.records)
          if (r.body.startsWith('poison')) throw new Error(`failed on ${r.body}`);
        handled += batch.records.length;
      },
      { park: true, maxAttempts: 1, backoffMs: 0 },
    );
    try {
      await eventually(
        async () => (await fixture.log.consumers.parked(run.name)).length === 1,
        'a parked record',
      );
      await recreate(stream);
      await fixture.log.stream(stream).append([{ body: 'poison 2' }, { body: 'fine' }]);
      await eventually(() => handled === 1, 'the record after the second poison one');
    } finally {
      await run.stop();
    }
    const parked = await fixture.log.consumers.parked(run.name);
    expect(parked).toMatchObject([
      { stream, seqNum: 0, error: 'Error: failed on poison 1' },
      { stream, seqNum: 0, error: 'Error: failed on poison 2' },
    ]);
    expect(parked[0]!.idempotencyKey).not.toBe(parked[1]!.idempotencyKey);
    const [info] = (await fixture.log.consumers.list()).filter((c) => c.name === run.name);
    expect(info!.parked).toBe(2);
  });
});
