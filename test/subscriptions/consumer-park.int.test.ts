import { describe, expect, it } from 'vitest';
import { ConsumerHandlerError, type ConsumerBatch, type RunOptions } from '../../src/index.js';
import { eventually } from '../support/assertions.js';
import { uniqueName, useEventLog } from '../support/event-log.js';

const fixture = useEventLog();

/** Starts a consumer of one stream that fails on the record whose body is 'poison' with `message`. */
async function poisoned(message: string, options: RunOptions = {}) {
  const name = uniqueName('c');
  const stream = uniqueName('park-s');
  await fixture.log.stream(stream).append(['a', 'poison', 'b'].map((body) => ({ body })));
  const handled: string[] = [];
  const controller = new AbortController();
  let outcome: { error?: unknown } | undefined;
  const running = fixture.log
    .consumer(name, { filter: { streamPrefix: stream } })
    .run(
      async (batch: ConsumerBatch) => {
        if (batch.records.some((r) => r.body === 'poison')) throw new Error(message);
        handled.push(...batch.records.map((r) => r.body));
      },
      { maxAttempts: 2, backoffMs: 0, park: true, signal: controller.signal, ...options },
    )
    .then(
      () => (outcome = {}),
      (error: unknown) => (outcome = { error }),
    );
  const stop = async () => {
    controller.abort();
    await running;
  };
  return { name, stream, handled, stop, outcome: () => outcome };
}

describe('parking a poison record', () => {
  it('stores an error message with NUL characters, without them, and goes on', async () => {
    const run = await poisoned('cannot decode \u0000 trailing\u0000');
    try {
      await eventually(() => run.handled.length === 2, 'the records around the poison one');
      const parked = await fixture.log.consumers.parked(run.name);
      expect(parked).toMatchObject([{ stream: run.stream, seqNum: 1, attempts: 2 }]);
      expect(parked[0]!.error).toBe('Error: cannot decode \uFFFD trailing\uFFFD');
    } finally {
      await run.stop();
    }
  });

  it('stores a long error message cut short', async () => {
    const run = await poisoned('x'.repeat(100_000));
    try {
      await eventually(() => run.handled.length === 2, 'the records around the poison one');
      const [parked] = await fixture.log.consumers.parked(run.name);
      expect(parked!.error.length).toBeLessThanOrEqual(4000);
      expect(parked!.error).toMatch(/^Error: x+… \(100007 characters\)$/);
    } finally {
      await run.stop();
    }
  });

  it('that cannot be parked stops the consumer at its checkpoint, with the parking failure as the cause', async () => {
    // A real fault: the database refuses every parked record of this test.
    await fixture.log.pool.query(
      `create function fencepost.refuse_park() returns trigger language plpgsql as $$
       begin raise exception 'parking refused: %', new.seq_num; end $$;
       create trigger refuse_park before insert on fencepost.parked_records
         for each row execute function fencepost.refuse_park()`,
    );
    try {
      const run = await poisoned('poison again', { maxAttempts: 3 });
      const settled = await eventually(run.outcome, 'the consumer to stop');
      const error = settled.error as ConsumerHandlerError;
      expect(error).toBeInstanceOf(ConsumerHandlerError);
      expect(error).toMatchObject({ consumer: run.name, stream: run.stream, seqNum: 1, attempts: 3 });
      expect((error.cause as Error).message).toMatch(/parking refused: 1/);
      expect(error.message).toMatch(/parking it failed 3 time\(s\)/);
      expect(run.handled).toEqual(['a']);
      const [info] = (await fixture.log.consumers.list()).filter((c) => c.name === run.name);
      expect(info!.cursor).toBe(error.cursor);
      expect(info!.lastError).toMatch(/parking refused: 1/);
      expect(await fixture.log.consumers.parked(run.name)).toEqual([]);
    } finally {
      await fixture.log.pool.query(`drop trigger refuse_park on fencepost.parked_records`);
    }
  });
});
