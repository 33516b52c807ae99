import { describe, expect, it } from 'vitest';
import type { ConsumerBatch, EventLog, RunOptions } from '../../src/index.js';
import { eventually } from '../support/assertions.js';
import { uniqueName, useEventLog } from '../support/event-log.js';

const fixture = useEventLog();

/** How `promise` settled within `ms`: 'resolved', the rejection, or 'pending' (a deadline, not a wait). */
async function settledWithin(promise: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<string>((resolve) => (timer = setTimeout(() => resolve('pending'), ms)));
  try {
    return await Promise.race([
      promise.then(
        () => 'resolved',
        (error: unknown) => error,
      ),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a consumer of one poison record on a log of its own; returns the run and the handler's call count. */
async function failing(
  log: EventLog,
  options: RunOptions,
  handler?: (batch: ConsumerBatch) => Promise<void>,
): Promise<{ running: Promise<void>; calls: () => number }> {
  const prefix = uniqueName('close');
  await log.stream(`${prefix}-a`).append([{ body: 'poison' }]);
  let calls = 0;
  const running = log.consumer(uniqueName('c'), { filter: { streamPrefix: prefix } }).run(async (batch) => {
    calls++;
    if (handler) return handler(batch);
    throw new Error('handler fails');
  }, options);
  return { running, calls: () => calls };
}

describe('a consumer when its log closes', () => {
  it('resolves at once while its handler waits for a retry', async () => {
    const log = await fixture.connect({ max: 4 });
    const { running, calls } = await failing(log, { backoffMs: 20_000, maxAttempts: 100 });
    await eventually(() => calls() >= 1, 'the first attempt');
    await log.close();
    expect(await settledWithin(running, 5000)).toBe('resolved');
    expect(calls()).toBe(1);
  });

  it('resolves when the log closes while a batch is in flight', async () => {
    const log = await fixture.connect({ max: 4 });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const { running, calls } = await failing(log, { backoffMs: 20_000, maxAttempts: 100 }, async () => {
      await held;
      throw new Error('handler fails after the close');
    });
    await eventually(() => calls() >= 1, 'the batch in flight');
    const closing = log.close();
    release();
    await closing;
    expect(await settledWithin(running, 5000)).toBe('resolved');
    expect(calls()).toBe(1);
  });

  it('resolves at once while parking a record waits for a retry', async () => {
    const log = await fixture.connect({ max: 4 });
    // A real fault: parking loses its connection (the backend terminates itself), which is retried without
    // counting as an attempt; the sequence counts the tries.
    await fixture.log.pool.query(
      `create sequence fencepost.park_tries;
       create function fencepost.lose_park() returns trigger language plpgsql as $$
       begin perform nextval('fencepost.park_tries'); perform pg_terminate_backend(pg_backend_pid()); return new; end $$;
       create trigger lose_park before insert on fencepost.parked_records
         for each row execute function fencepost.lose_park()`,
    );
    try {
      const { running } = await failing(log, { backoffMs: 20_000, maxAttempts: 1, park: true });
      const tried = async () =>
        (await fixture.log.pool.query(`select is_called from fencepost.park_tries`)).rows[0].is_called ===
        true;
      await eventually(tried, 'a try to park');
      await log.close();
      expect(await settledWithin(running, 5000)).toBe('resolved');
    } finally {
      await fixture.log.pool.query(`drop trigger lose_park on fencepost.parked_records`);
    }
  });
});
