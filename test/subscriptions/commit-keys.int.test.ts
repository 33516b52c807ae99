import { describe, expect, it } from 'vitest';
import { CommitKeysAheadError, EventLog } from '../../src/index.js';
import { rejectionOf } from '../support/assertions.js';
import { uniqueName, uniqueSchema, useEventLog } from '../support/event-log.js';

const fixture = useEventLog();

/** What a restore from a cluster `by` transaction ids further along leaves behind, for one stream. */
async function shiftKeys(stream: string, by: number): Promise<void> {
  await fixture.log.pool.query(
    `update fencepost.records r set commit_key = (r.commit_key::text::bigint + $2)::text::xid8
     from fencepost.streams s where s.id = r.stream_id and s.name = $1`,
    [stream, by],
  );
  await fixture.log.pool.query(
    `update fencepost.streams set last_key = (last_key::text::bigint + $2)::text::xid8 where name = $1`,
    [stream, by],
  );
}

describe('EventLog.connect and commit keys', () => {
  it('refuses a log whose commit keys are ahead of the transaction ids of its cluster, naming both', async () => {
    const stream = uniqueName('restored');
    await fixture.log.stream(stream).append([{ body: 'copied from a cluster further along' }]);
    await shiftKeys(stream, 1_000_000_000);
    try {
      const { rows } = await fixture.log.pool.query<{ key: string; next: string }>(
        `select max(commit_key)::text as key, pg_snapshot_xmax(pg_current_snapshot())::text as next
         from fencepost.records`,
      );
      const error = (await rejectionOf(
        EventLog.connect({ connectionString: fixture.connectionString, sweepIntervalMs: 0 }),
      )) as CommitKeysAheadError;
      expect(error).toBeInstanceOf(CommitKeysAheadError);
      expect(error.code).toBe('commit_keys_ahead');
      expect(error.commitKey).toBe(rows[0]!.key);
      expect(BigInt(error.nextXid)).toBeGreaterThanOrEqual(BigInt(rows[0]!.next));
      expect(BigInt(error.nextXid)).toBeLessThan(BigInt(error.commitKey));
      expect(error.message).toContain(error.commitKey);
      expect(error.message).toContain(error.nextXid);
    } finally {
      await shiftKeys(stream, -1_000_000_000);
    }
    const log = await fixture.connect();
    expect((await log.stream(stream).checkTail()).seqNum).toBe(1);
  });

  it('connects to a schema not migrated yet with migrate: false (nothing to check)', async () => {
    const log = await fixture.connect({ schema: uniqueSchema('bare'), migrate: false });
    await log.close();
  });
});
