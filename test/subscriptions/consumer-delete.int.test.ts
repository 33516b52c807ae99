import { describe, expect, it } from 'vitest';
import { ConsumerDeletedError } from '../../src/index.js';
import { eventually, rejectionOf } from '../support/assertions.js';
import { uniqueName, useEventLog } from '../support/event-log.js';

const fixture = useEventLog();

describe('deleting a running consumer', () => {
  for (const onConflict of ['stop', 'continue'] as const) {
    it(`stops it with ConsumerDeletedError at its next batch and leaves it deleted (onConflict: '${onConflict}')`, async () => {
      const log = fixture.log;
      const prefix = uniqueName('del');
      await log.stream(`${prefix}-a`).append([{ body: 'one' }]);
      const name = uniqueName('c');
      const handled: string[] = [];
      const running = log
        .consumer(name, { filter: { streamPrefix: prefix } })
        .run(async (batch) => void handled.push(...batch.records.map((r) => r.body)), { onConflict });
      await eventually(() => handled.length === 1, 'the first record');
      const [start] = (await log.consumers.list()).filter((c) => c.name === name);
      expect(await log.consumers.delete(name)).toBe(true);
      await log.stream(`${prefix}-a`).append([{ body: 'two' }]);
      const error = (await rejectionOf(running)) as ConsumerDeletedError;
      expect(error).toBeInstanceOf(ConsumerDeletedError);
      expect(error).toMatchObject({ code: 'consumer_deleted', consumer: name, basin: 'default-basin' });
      // Its position: past the first record (the batch committed before the delete, or the delete waited for
      // it), and maybe further, over records of the basin its filter leaves out.
      expect(error.cursor).not.toBe('g1.0.0.-1');
      expect(start).toBeDefined();
      expect(error.message).toMatch(/deleted/);
      expect(handled).toEqual(['one']);
      expect((await log.consumers.list()).filter((c) => c.name === name)).toEqual([]);
    });
  }

  it('while its batch holds the checkpoint: the batch commits, the next one stops', async () => {
    const log = fixture.log;
    const prefix = uniqueName('del-held');
    await log.stream(`${prefix}-a`).append([{ body: 'one' }]);
    const name = uniqueName('c');
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const handled: string[] = [];
    const running = log.consumer(name, { filter: { streamPrefix: prefix } }).run(async (batch) => {
      handled.push(...batch.records.map((r) => r.body));
      if (handled.length === 1) await held;
    });
    await eventually(() => handled.length === 1, 'the batch in flight');
    // The delete waits for the batch's row lock, then deletes the advanced checkpoint.
    const deleting = log.consumers.delete(name);
    const blocked = async () =>
      (
        await log.pool.query(
          `select 1 from pg_stat_activity where wait_event_type = 'Lock' and query like 'delete from%consumers%'`,
        )
      ).rows.length > 0;
    await eventually(blocked, 'the delete to wait for the checkpoint row');
    release();
    expect(await deleting).toBe(true);
    await log.stream(`${prefix}-a`).append([{ body: 'two' }]);
    expect(await rejectionOf(running)).toBeInstanceOf(ConsumerDeletedError);
    expect(handled).toEqual(['one']);
    expect((await log.consumers.list()).filter((c) => c.name === name)).toEqual([]);
  });
});
