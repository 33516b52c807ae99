import { describe, expect, it } from 'vitest';
import type { EventLog } from '../../src/index.js';
import { eventually } from '../support/assertions.js';
import { uniqueName, useEventLog } from '../support/event-log.js';

const fixture = useEventLog();

/** Runs a consumer of streams starting with `prefix`; `stop` aborts it and waits. */
function consume(log: EventLog, prefix: string, handled: string[]) {
  const name = uniqueName('c');
  const controller = new AbortController();
  const running = log
    .consumer(name, { filter: { streamPrefix: prefix } })
    .run(async (batch) => void handled.push(...batch.records.map((r) => r.body)), {
      signal: controller.signal,
    });
  const info = async () => (await log.consumers.list()).find((c) => c.name === name)!;
  return {
    info,
    stop: async () => {
      controller.abort();
      await running;
    },
  };
}

describe("a filtered consumer's stored checkpoint", () => {
  it('moves over the records its filter leaves out, so its lag comes down to zero', async () => {
    const prefix = uniqueName('wanted');
    await fixture.log.stream(`${prefix}-a`).append([{ body: 'wanted' }]);
    const handled: string[] = [];
    const run = consume(fixture.log, prefix, handled);
    try {
      await eventually(() => handled.length === 1, 'the wanted record');
      const other = fixture.log.stream(uniqueName('other'));
      for (let i = 0; i < 20; i++) await other.append([{ body: `other ${i}` }]);
      await eventually(async () => (await run.info()).lag.records === 0, 'the lag to come down to zero');
    } finally {
      await run.stop();
    }
    expect(handled).toEqual(['wanted']);
  });

  it('is not written while nothing of its basin comes, however far the horizon moves', async () => {
    const log = await fixture.connect({ max: 4, pollIntervalMs: 20 });
    const prefix = uniqueName('quiet');
    await log.stream(`${prefix}-a`).append([{ body: 'wanted' }]);
    const handled: string[] = [];
    const run = consume(log, prefix, handled);
    try {
      await eventually(() => handled.length === 1, 'the wanted record');
      await eventually(async () => (await run.info()).lag.records === 0, 'no lag');
      const { version } = await run.info();
      // An observation window (of two and a half checkpoint periods), not a wait for something to happen:
      // transaction ids are taken all along, so the horizon the consumer reads up to moves at every poll.
      const until = Date.now() + 2500;
      while (Date.now() < until) await log.pool.query('select pg_current_xact_id()');
      expect((await run.info()).version).toBe(version);
    } finally {
      await run.stop();
    }
  });
});
